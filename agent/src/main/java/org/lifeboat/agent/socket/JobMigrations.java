package org.lifeboat.agent.socket;

import org.lifeboat.agent.migration.MigrationException;
import org.lifeboat.agent.migration.MigrationReport;
import org.lifeboat.agent.migration.TransferMode;

/** What the socket's "migrate" request asks of the agent. */
@FunctionalInterface
public interface JobMigrations {

    /** Migrates the job to the target node, with the agent's default mode when {@code mode} is null. */
    MigrationReport migrate(long job, String targetNode, TransferMode mode) throws MigrationException;
}
