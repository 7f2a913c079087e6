package org.lifeboat.agent.migration;

import com.fasterxml.jackson.annotation.JsonValue;

/** How a job's move ended, as reports, metrics and {@code lifeboat history} name it. */
public enum Outcome {
    /** The job runs on the target node. */
    MIGRATED("migrated"),
    /** Checkpointed to the shared directory and requeued: no node could take the job now. */
    PARKED("parked"),
    /** Past the point of no return the job moved, but its start there or the cleanup failed. */
    CLEANUP_FAILED("migrated-cleanup-failed"),
    /** A failure before the point of no return: the job runs on where it was. */
    ROLLED_BACK("rolled-back"),
    /**
     * Post-copy: the job ran on the target, its memory split across the two nodes, when a failure
     * stopped the last pages from crossing; its copy there was killed rather than left to run on
     * with pages missing. Slurm sees the job end.
     */
    LOST("lost");

    private final String wireName;

    Outcome(String wireName) {
        this.wireName = wireName;
    }

    @JsonValue
    public String wireName() {
        return wireName;
    }

    /** Whether the job left this node: every outcome but a rollback. */
    public boolean jobLeft() {
        return this != ROLLED_BACK;
    }

}
