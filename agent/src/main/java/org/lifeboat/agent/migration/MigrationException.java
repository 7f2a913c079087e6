package org.lifeboat.agent.migration;

/** A migration could not be started (bad request, busy job); nothing was changed. */
public final class MigrationException extends Exception {

    private static final long serialVersionUID = 1L;

    private final String code;

    public MigrationException(String code, String message) {
        super(message);
        this.code = code;
    }

    /** An error code of the agent socket protocol, e.g. "unknown-job" or "conflict". */
    public String code() {
        return code;
    }
}
