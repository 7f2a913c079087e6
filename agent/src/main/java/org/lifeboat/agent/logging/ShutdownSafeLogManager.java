package org.lifeboat.agent.logging;

import java.util.logging.LogManager;

/**
 * A LogManager whose reset leaves the handlers in place.
 *
 * <p>The JDK resets logging from a shutdown hook of its own, which runs at the same time as the agent's
 * shutdown hook; whatever the agent logs while stopping, "stopped" included, would otherwise be lost.
 * Nothing else is lost by never resetting: the agent's handler flushes every record, and the
 * configuration is read once, at start.
 */
public final class ShutdownSafeLogManager extends LogManager {

    @Override
    public void reset() {
        // Intentionally keeps handlers and levels; see the class comment.
    }
}
