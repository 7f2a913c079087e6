package org.lifeboat.agent.lifecycle;

import java.util.Optional;

/**
 * A loop the agent is of no use without (an accept loop, a poller), asked by {@link SystemdWatchdog}
 * before each watchdog ping whether it still runs.
 */
@FunctionalInterface
public interface Liveness {

    /** Empty while the loop runs; otherwise why it no longer does, in words for the log. */
    Optional<String> failure();
}
