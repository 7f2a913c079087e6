package org.lifeboat.agent.config;

import java.util.Objects;

/**
 * A configuration value breaks a rule. It carries the dotted key as written in the YAML file so that
 * the loader can point the administrator at the line that holds it.
 */
public final class InvalidConfigValueException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String key;
    private final String problem;

    public InvalidConfigValueException(String key, String problem) {
        super(Objects.requireNonNull(key, "key") + " " + Objects.requireNonNull(problem, "problem"));
        this.key = key;
        this.problem = problem;
    }

    public String key() {
        return key;
    }

    public String problem() {
        return problem;
    }
}
