package org.lifeboat.agent.socket;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Raises the level of the agent's socket loggers for the duration of a test, so thousands of
 * expected refusals do not flood the build log. Holds the logger strongly: java.util.logging keeps
 * loggers weakly and would forget a level set on one nobody references.
 */
final class QuietLogs implements AutoCloseable {

    private final Logger logger;
    private final Level previous;

    private QuietLogs(Logger logger, Level level) {
        this.logger = logger;
        this.previous = logger.getLevel();
        logger.setLevel(level);
    }

    /** Only SEVERE messages of org.lifeboat.agent.socket until closed. */
    static QuietLogs socketWarnings() {
        return new QuietLogs(Logger.getLogger("org.lifeboat.agent.socket"), Level.SEVERE);
    }

    @Override
    public void close() {
        logger.setLevel(previous);
    }
}
