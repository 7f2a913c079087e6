package org.lifeboat.agent.config;

import java.nio.file.Path;
import java.util.Objects;

/** The agent's configuration file cannot be used; the message says which file and why, on one line. */
public final class InvalidConfigurationException extends Exception {

    private static final long serialVersionUID = 1L;

    public InvalidConfigurationException(Path file, String problem) {
        super(message(file, problem));
    }

    /** How a problem with the file is said, as an error or as a warning: {@code config FILE: problem}. */
    public static String message(Path file, String problem) {
        return "config " + Objects.requireNonNull(file, "file") + ": " + Objects.requireNonNull(problem, "problem");
    }
}
