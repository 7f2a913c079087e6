package org.lifeboat.agent.logging;

import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.Logger;

/** Sends every log record to standard error, one line each, where systemd's journal collects it. */
public final class AgentLogging {

    private static final String LOG_MANAGER_PROPERTY = "java.util.logging.manager";

    private AgentLogging() {
    }

    /** Must run before anything touches java.util.logging: the JDK reads the manager class name only once. */
    public static void install() {
        if (System.getProperty(LOG_MANAGER_PROPERTY) == null) {
            System.setProperty(LOG_MANAGER_PROPERTY, ShutdownSafeLogManager.class.getName());
        }
        Logger root = Logger.getLogger("");
        for (Handler handler : root.getHandlers()) {
            root.removeHandler(handler);
        }
        ConsoleHandler standardError = new ConsoleHandler();
        standardError.setFormatter(new OneLineFormatter());
        standardError.setLevel(Level.ALL);
        root.addHandler(standardError);
    }
}
