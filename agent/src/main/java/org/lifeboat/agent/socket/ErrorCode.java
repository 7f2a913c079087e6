package org.lifeboat.agent.socket;

import org.lifeboat.agent.migration.MigrationException;

/** Every error code the socket protocol can reply with; clients may switch on these names. */
public enum ErrorCode {
    /** Not JSON, not an object, a field missing, of the wrong type, out of range, or unknown. */
    MALFORMED("malformed"),
    /** The line exceeded the size limit; the connection is closed. */
    TOO_LARGE("too-large"),
    /** The request names a protocol version this agent does not speak. */
    UNSUPPORTED_VERSION("unsupported-version"),
    /** The request type is not one this agent knows. */
    UNKNOWN_REQUEST("unknown-request"),
    /** The peer may not do this (see Authorizer). */
    NOT_PERMITTED("not-permitted"),
    /** No such job registered on this node. */
    UNKNOWN_JOB("unknown-job"),
    /** No such step of a registered job on this node. */
    UNKNOWN_STEP("unknown-step"),
    /** The request contradicts the registry (e.g. another owner for a known job). */
    CONFLICT("conflict"),
    /** The job runs nothing this agent can migrate (no container started by lifeboat-run). */
    NO_CONTAINER("no-container"),
    /** The job cannot move this way as it is (the message says why); it keeps running where it is. */
    UNMOVABLE("unmovable"),
    /** Slurm does not know the node named. */
    UNKNOWN_NODE("unknown-node"),
    /** Slurm has no node that could take the job now; it keeps running where it is. */
    NO_TARGET("no-target"),
    /** Slurm cannot requeue the job (not a batch job, or submitted with --no-requeue), so it cannot move. */
    NOT_REQUEUEABLE("not-requeueable"),
    /** The agent's configuration lacks what the request needs (parking needs a shared-directory). */
    NOT_CONFIGURED("not-configured"),
    /** CRIU is missing or `criu check` failed on this node: no job can leave it (see /health for the reason). */
    CRIU_UNUSABLE("criu-unusable"),
    /** The agent has too many connections in progress; try again. */
    BUSY("busy"),
    /** The agent failed (e.g. could not save its state); the request had no effect. */
    INTERNAL("internal");

    private final String wireName;

    ErrorCode(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }

    /** The protocol error for a migration that could not start: one for each reason, checked by the compiler. */
    static ErrorCode fromMigration(MigrationException.Reason reason) {
        return switch (reason) {
            case UNKNOWN_JOB -> UNKNOWN_JOB;
            case MALFORMED -> MALFORMED;
            case CONFLICT -> CONFLICT;
            case NO_CONTAINER -> NO_CONTAINER;
            case UNMOVABLE -> UNMOVABLE;
            case UNKNOWN_NODE -> UNKNOWN_NODE;
            case NO_TARGET -> NO_TARGET;
            case NOT_REQUEUEABLE -> NOT_REQUEUEABLE;
            case NOT_CONFIGURED -> NOT_CONFIGURED;
            case CRIU_UNUSABLE -> CRIU_UNUSABLE;
            case INTERNAL -> INTERNAL;
        };
    }
}
