package org.lifeboat.agent.migration;

/**
 * The phases of a migration, in order. Before {@link #REQUEUE} succeeds, any failure rolls back:
 * the source resumes the frozen job where it was and the target discards its stopped copy, which
 * never ran. REQUEUE succeeding is the point of no return: Slurm has taken the job off the source
 * (and killed the frozen copy there), so from then on the job lives on the target, and failures
 * only delay its start there or leave cleanup undone; except in post-copy, where a failure during
 * FETCH_PAGES loses the job (see {@link Outcome#LOST}).
 */
public enum MigrationPhase {
    /** The target makes room for the images and starts its page server. */
    PREPARE_TARGET,
    /** CRIU freezes and checkpoints the container; memory streams to the target's page server. */
    DUMP,
    /** The remaining image files go to the target as a tar stream. */
    SEND_IMAGES,
    /** The target rebuilds the container's root and CRIU restores it there, left stopped. */
    RESTORE,
    /** The target confirms the restored container is whole and stopped, ready to go on. */
    CONFIRM,
    /** Slurm requeues the job (same id), killing the frozen source copy. Succeeding is the point of no return. */
    REQUEUE,
    /** The target lets the restored container run, and expects the requeued job to start there. */
    RESUME,
    /** The requeued job is pinned to the target and started at once, and the move is recorded in it. */
    PLACE,
    /**
     * Post-copy: the job runs on the target while CRIU's lazy-pages daemon there fetches the rest of
     * its memory from the source; it ends when the last page has crossed. The job needs both nodes
     * and the link between them until then.
     */
    FETCH_PAGES,
    /** The source lets CRIU finish and both sides remove their images. */
    CLEANUP,
    /** After a failure before the point of no return: the source resumes, the target discards. */
    ROLLBACK;

    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
