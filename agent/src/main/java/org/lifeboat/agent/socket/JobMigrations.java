package org.lifeboat.agent.socket;

import java.util.Optional;
import org.lifeboat.agent.migration.MigrationException;
import org.lifeboat.agent.migration.MigrationReport;
import org.lifeboat.agent.migration.TransferMode;
import org.lifeboat.agent.registry.JobRecord;

/** What the socket's requests ask of the agent's migrations. */
@FunctionalInterface
public interface JobMigrations {

    /**
     * Migrates the job to the target node, or to the node Slurm chooses when {@code targetNode} is
     * null, with the agent's default mode when {@code mode} is null.
     */
    MigrationReport migrate(long job, String targetNode, TransferMode mode) throws MigrationException;

    /** A step of a registered job starts here (a parked, requeued job's batch step gets its checkpoint restored). */
    default void stepStarted(JobRecord job, String step) {
    }

    /** A task of a registered job started here (a requeued, migrated job's batch step adopts its container). */
    default void taskStarted(JobRecord job, String step, long taskPid) {
    }

    /** A job ended on this node. */
    default void jobEnded(long job) {
    }

    /**
     * Whether the job's end reported here was only the end of its run before a move, while its part
     * restored in place on this node lives on (a job on several nodes): then nothing of it is dropped.
     */
    default boolean livesOnAfterItsEnd(long job) {
        return false;
    }

    /** Why the job cannot move whole from this node; empty when it can. */
    default Optional<String> whyNotMovable(long job) {
        return Optional.empty();
    }
}
