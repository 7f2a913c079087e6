package org.lifeboat.agent.migration;

/** Hears of every migration this node started once it has ended: the metrics and the history. */
@FunctionalInterface
public interface MigrationObserver {

    /** The migration's final report, moved or rolled back. Runs on the migration's thread: keep it quick. */
    void migrationEnded(MigrationReport report);
}
