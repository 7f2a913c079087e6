package org.lifeboat.agent.lifecycle;

import java.io.IOException;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * Tells systemd, under {@code Type=notify}, when the agent is ready and when it begins to stop, by the
 * sd_notify protocol ({@link NotifySocket}). Listed last among the agent's components, it starts after
 * every server is listening (so {@code systemctl start} returns when the socket and HTTP endpoint
 * answer) and stops first. Without {@code NOTIFY_SOCKET} (the agent run by hand, or by a test) it
 * does nothing.
 */
public final class SystemdNotification implements LifeCycleComponent {

    private static final String READY = "READY=1";
    private static final String STOPPING = "STOPPING=1";
    private static final Logger LOG = Logger.getLogger(SystemdNotification.class.getName());

    // Empty when the agent does not run under systemd's Type=notify.
    private final Optional<NotificationSink> systemd;

    SystemdNotification(Optional<NotificationSink> systemd) {
        this.systemd = Objects.requireNonNull(systemd, "systemd");
    }

    public static SystemdNotification fromEnvironment(Map<String, String> environment) {
        return new SystemdNotification(notifySocket(environment));
    }

    /** The socket NOTIFY_SOCKET names, if it names one. */
    static Optional<NotificationSink> notifySocket(Map<String, String> environment) {
        return Optional.ofNullable(environment.get(NotifySocket.NOTIFY_SOCKET))
                .filter(name -> !name.isEmpty())
                .map(NotifySocket::new);
    }

    /**
     * Failing here fails the start: systemd would otherwise wait for READY=1 and kill the agent at its
     * timeout, with nothing in the log to say why.
     */
    @Override
    public void start() throws IOException {
        if (systemd.isPresent()) {
            systemd.get().send(READY);
        }
    }

    /** A lost STOPPING=1 costs nothing but a less precise state in systemctl, so it is only logged. */
    @Override
    public void stop() {
        if (systemd.isEmpty()) {
            return;
        }
        try {
            systemd.get().send(STOPPING);
        } catch (IOException e) {
            LOG.warning(e.getMessage());
        }
    }
}
