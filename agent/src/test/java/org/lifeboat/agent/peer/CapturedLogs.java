package org.lifeboat.agent.peer;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Records what a logger (by default the peer package's) logs during a test instead of printing it,
 * so expected refusals neither flood the build log nor go unchecked. Holds the logger strongly:
 * java.util.logging keeps loggers weakly and would forget a handler added to one nobody references.
 */
public final class CapturedLogs implements AutoCloseable {

    private final Logger logger;
    private final List<LogRecord> records = new ArrayList<>();
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord record) {
            synchronized (records) {
                records.add(record);
            }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };
    private final boolean usedParentHandlers;

    CapturedLogs() {
        this("org.lifeboat.agent.peer");
    }

    /** @param loggerName a class's or a package's logger, e.g. {@code SomeClass.class.getName()} */
    public CapturedLogs(String loggerName) {
        logger = Logger.getLogger(loggerName);
        usedParentHandlers = logger.getUseParentHandlers();
        logger.setUseParentHandlers(false);
        logger.addHandler(handler);
    }

    /** The messages logged at this level or above so far. */
    public List<String> messages(Level atLeast) {
        synchronized (records) {
            return records.stream().filter(r -> r.getLevel().intValue() >= atLeast.intValue()).map(LogRecord::getMessage).toList();
        }
    }

    /** Whether some message at WARNING or above contains all these parts. */
    boolean warned(String... parts) {
        return messages(Level.WARNING).stream().anyMatch(message -> {
            for (String part : parts) {
                if (!message.contains(part)) {
                    return false;
                }
            }
            return true;
        });
    }

    @Override
    public void close() {
        logger.removeHandler(handler);
        logger.setUseParentHandlers(usedParentHandlers);
    }
}
