package org.lifeboat.predictor.config;

import java.util.Objects;

/**
 * A {@code predictor:} value breaks a rule. Like the agent's own InvalidConfigValueException it carries
 * the dotted key as written in the YAML file, so the loader can point at the line that holds it.
 */
public final class InvalidPredictorConfigException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final String key;
    private final String problem;

    public InvalidPredictorConfigException(String key, String problem) {
        super(Objects.requireNonNull(key, "key") + " " + Objects.requireNonNull(problem, "problem"));
        this.key = key;
        this.problem = problem;
    }

    /** The full dotted key, e.g. {@code predictor.edac.interval}. */
    public String key() {
        return key;
    }

    public String problem() {
        return problem;
    }
}
