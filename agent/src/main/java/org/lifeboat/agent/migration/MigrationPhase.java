package org.lifeboat.agent.migration;

/**
 * The phases of a migration, in order. Before {@link #CONFIRM} completes, any failure rolls back:
 * the source resumes the frozen job where it was. CONFIRM completing is the point of no return:
 * from then on the job lives on the target, and failures only leave cleanup undone.
 */
public enum MigrationPhase {
    /** The target makes room for the images and starts its page server. */
    PREPARE_TARGET,
    /** CRIU freezes and checkpoints the container; memory streams to the target's page server. */
    DUMP,
    /** The remaining image files go to the target as a tar stream. */
    SEND_IMAGES,
    /** The target rebuilds the container's root and CRIU restores it there. */
    RESTORE,
    /** The target confirms the restored container runs. Completing this is the point of no return. */
    CONFIRM,
    /** The source kills its frozen copy and both sides remove their images. */
    CLEANUP,
    /** After a failure before the point of no return: the source resumes, the target discards. */
    ROLLBACK;

    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
