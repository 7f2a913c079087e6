package org.lifeboat.agent.config;

import java.nio.file.Path;
import java.util.Objects;

/** The agent's configuration file cannot be used; the message says which file and why, on one line. */
public final class InvalidConfigurationException extends Exception {

    private static final long serialVersionUID = 1L;

    public InvalidConfigurationException(Path file, String problem) {
        super("config " + Objects.requireNonNull(file, "file") + ": " + Objects.requireNonNull(problem, "problem"));
    }
}
