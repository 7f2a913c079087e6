package org.lifeboat.agent.migration;

import java.util.Objects;

/** A migration could not be started (bad request, busy job); nothing was changed. */
public final class MigrationException extends Exception {

    private static final long serialVersionUID = 1L;

    /** Why a move could not start; the socket protocol replies with the error code of the same name. */
    public enum Reason {
        /** No such job registered on this node, or Slurm does not know it. */
        UNKNOWN_JOB,
        /** The request makes no sense here (e.g. a move to the node the job already runs on). */
        MALFORMED,
        /** Another request contradicts this one. */
        CONFLICT,
        /** The job runs nothing this agent can move (no container started by lifeboat-run, no Apptainer instance). */
        NO_CONTAINER,
        /** The job cannot move this way as it is (said why); it keeps running where it is. */
        UNMOVABLE,
        /** Slurm does not know the node named. */
        UNKNOWN_NODE,
        /** Slurm has no node that could take the job now; it keeps running where it is. */
        NO_TARGET,
        /** Slurm cannot requeue the job (not a batch job, or submitted with --no-requeue). */
        NOT_REQUEUEABLE,
        /** The agent's configuration lacks what this needs (parking needs a shared-directory). */
        NOT_CONFIGURED,
        /** CRIU is missing or {@code criu check} failed on this node: no job can leave it. */
        CRIU_UNUSABLE,
        /** The agent failed; the request had no effect. */
        INTERNAL
    }

    private final Reason reason;

    public MigrationException(Reason reason, String message) {
        super(message);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public Reason reason() {
        return reason;
    }
}
