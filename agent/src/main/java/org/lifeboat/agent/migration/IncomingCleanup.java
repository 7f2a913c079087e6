package org.lifeboat.agent.migration;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.logging.Logger;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.container.RestoreRoot;
import org.lifeboat.agent.network.JobNetworks;

/** Removes what an incoming migration set up here, whichever way it ended. */
public final class IncomingCleanup {

    private static final Logger LOG = Logger.getLogger(IncomingCleanup.class.getName());

    private final IncomingMigrationTable table;
    private final ConfirmedCopies confirmedCopies;
    private final RestoreRoot restoreRoots;
    private final ContainerProcesses processes;
    private final JobNetworks networks;
    private final ResumeMarkers resumeMarkers;
    private final Executor background;

    /**
     * @param background where finished migrations' images are deleted, off the source's path; a
     *        deletion cut short by the agent's stop is finished by the recovery at the next start
     */
    public IncomingCleanup(IncomingMigrationTable table, ConfirmedCopies confirmedCopies, RestoreRoot restoreRoots,
                           ContainerProcesses processes, JobNetworks networks, ResumeMarkers resumeMarkers, Executor background) {
        this.table = Objects.requireNonNull(table, "table");
        this.confirmedCopies = Objects.requireNonNull(confirmedCopies, "confirmedCopies");
        this.restoreRoots = Objects.requireNonNull(restoreRoots, "restoreRoots");
        this.processes = Objects.requireNonNull(processes, "processes");
        this.networks = Objects.requireNonNull(networks, "networks");
        this.resumeMarkers = Objects.requireNonNull(resumeMarkers, "resumeMarkers");
        this.background = Objects.requireNonNull(background, "background");
    }

    /**
     * Undoes whatever this migration set up here: a restored copy, the page server, the images, and
     * once it was confirmed or started here, the resume marker and the confirmed record. Called in
     * the migration's transition, so its state is still the one it is discarded from.
     */
    void discard(IncomingMigration migration) {
        table.remove(migration);
        try {
            // A page server no relay took ends when its connection does.
            SocketChannel pageServer = migration.pageServer.getAndSet(null);
            if (pageServer != null) {
                pageServer.close();
            }
            // A lazy-pages daemon ends when its connection does (its guard then kills what was restored); a relay
            // still waiting for it stops waiting.
            if (!migration.lazyPages.completeExceptionally(new IOException("migration " + migration.id + " was discarded"))
                    && !migration.lazyPages.isCompletedExceptionally()) {
                migration.lazyPages.join().close();
            }
            if (migration.networkCreated) {
                // Down before the copy dies: its sockets' ends must not reach the peers with a FIN or RST, since
                // those peers stay connected to the source's copy, which resumes (and, for a staying part of a job
                // on several nodes, the peers are the job's other parts).
                networks.releaseRestored(migration.network, migration.id);
            }
            if (migration.restoredPid != 0 && processes.isAlive(migration.restoredPid)) {
                processes.kill(migration.restoredPid);
            }
            unmountQuietly(migration.root);
            if (migration.mode.copiesImages()) {
                DirectoryTrees.delete(migration.images);
            }
            LazyPages.forget(migration.images);
            CheckpointDirectories.deleteRestoreRoot(migration.root);
            IncomingMigration.State state = migration.state();
            if (state == IncomingMigration.State.CONFIRMED || state == IncomingMigration.State.STARTED_HERE) {
                resumeMarkers.remove(migration.jobId);
                confirmedCopies.forget(migration.id);
            }
        } catch (Exception e) {
            LOG.warning("migration " + migration.id + ": discarding it left something behind: " + e.getMessage());
        }
    }

    /** A migration taken over here: no source will commit it, so its images and restore root go now. */
    void forgetTakenOver(IncomingMigration migration) throws IOException {
        table.tookOver(migration);
        confirmedCopies.forget(migration.id);
        deleteWhenDone(migration);
    }

    /**
     * Deletes a finished migration's images and restore root after the reply: freeing a GiB of
     * tmpfs takes ~50 ms, which the source need not wait for.
     */
    void deleteWhenDone(IncomingMigration migration) {
        background.execute(() -> {
            try {
                // Shared-fs images are the source's: it deletes them before it commits, and on a network file
                // system this node's cached view of them may still say they exist.
                if (migration.mode.copiesImages()) {
                    DirectoryTrees.delete(migration.images);
                }
                LazyPages.forget(migration.images);
                CheckpointDirectories.deleteRestoreRoot(migration.root);
                LOG.info("migration " + migration.id + ": images of job " + migration.jobId + " removed");
            } catch (IOException | RuntimeException e) {
                LOG.warning("migration " + migration.id + ": removing its images failed (the agent's next start removes"
                        + " them): " + e.getMessage());
            }
        });
    }

    void unmountQuietly(Path root) {
        try {
            if (Files.isDirectory(root) && isMountPoint(root)) {
                restoreRoots.unmount(root);
            }
        } catch (Exception e) {
            LOG.warning("cannot unmount " + root + ": " + e.getMessage());
        }
    }

    private static boolean isMountPoint(Path path) throws IOException {
        return !Files.getFileStore(path).equals(Files.getFileStore(path.getParent()));
    }
}
