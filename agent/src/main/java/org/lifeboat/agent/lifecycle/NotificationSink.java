package org.lifeboat.agent.lifecycle;

import java.io.IOException;

/** Where the agent's sd_notify messages go: systemd's socket ({@link NotifySocket}), or a test's list. */
@FunctionalInterface
interface NotificationSink {

    /** Sends one message, such as {@code READY=1}, as one datagram. */
    void send(String message) throws IOException;
}
