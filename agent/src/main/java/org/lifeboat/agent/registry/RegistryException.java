package org.lifeboat.agent.registry;

import java.util.Objects;

/** A registration that contradicts what the registry holds. */
public final class RegistryException extends Exception {

    private static final long serialVersionUID = 1L;

    /** Why the registry refused. */
    public enum Reason {
        UNKNOWN_JOB,
        UNKNOWN_STEP,
        /** The request names a different owner for a job already registered. */
        CONFLICT
    }

    private final Reason reason;

    public RegistryException(Reason reason, String message) {
        super(message);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public Reason reason() {
        return reason;
    }
}
