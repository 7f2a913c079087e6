package org.lifeboat.agent.migration;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.migration.ConfirmedCopies.ConfirmedMigration;
import org.lifeboat.agent.network.JobNetworks;

/**
 * What the target side does at the agent's start, before any source may reach it: removes what
 * migrations left when this agent stopped in the middle of them (their sources have rolled back:
 * they could not reach the point of no return without this agent), except a migration this agent
 * had confirmed, whose restored, stopped copy may be the job's only one now.
 * <p>
 * For such a copy the source may have passed its point of no return (requeued the job, killed its
 * copy): then the copy here is resumed and handed to the requeued job; or the source kept the job:
 * then the copy here goes. Slurm's restart count says which: the source requeues within
 * milliseconds of the confirmation, so a count still unchanged after {@link #REQUEUE_WAIT} means it
 * never will. Decided in the background, while the "restoring" resume marker written at the
 * confirmation keeps a requeued job started here waiting; a copy whose Slurm state cannot be read
 * is kept, stopped, and asked about again.
 */
public final class TargetRecovery {

    static final Duration REQUEUE_WAIT = Duration.ofSeconds(30);
    private static final Duration POLL = Duration.ofSeconds(1);
    private static final Logger LOG = Logger.getLogger(TargetRecovery.class.getName());

    private final Path checkpointDirectory;
    private final ConfirmedCopies confirmedCopies;
    private final RestoredCopies restoredCopies;
    private final IncomingCleanup cleanup;
    private final ContainerProcesses processes;
    private final JobNetworks networks;
    private final ResumeMarkers resumeMarkers;
    private final TargetScheduler scheduler;
    private final ExecutorService deciders;
    private final Duration requeueWait;
    private final Duration poll;

    /** @param deciders where each confirmed copy waits for Slurm's word; owned (and shut down) by the caller */
    public TargetRecovery(Path checkpointDirectory, ConfirmedCopies confirmedCopies, RestoredCopies restoredCopies,
                          IncomingCleanup cleanup, ContainerProcesses processes, JobNetworks networks, ResumeMarkers resumeMarkers,
                          TargetScheduler scheduler, ExecutorService deciders) {
        this(checkpointDirectory, confirmedCopies, restoredCopies, cleanup, processes, networks, resumeMarkers, scheduler, deciders,
                REQUEUE_WAIT, POLL);
    }

    TargetRecovery(Path checkpointDirectory, ConfirmedCopies confirmedCopies, RestoredCopies restoredCopies,
                   IncomingCleanup cleanup, ContainerProcesses processes, JobNetworks networks, ResumeMarkers resumeMarkers,
                   TargetScheduler scheduler, ExecutorService deciders, Duration requeueWait, Duration poll) {
        this.checkpointDirectory = Objects.requireNonNull(checkpointDirectory, "checkpointDirectory");
        this.confirmedCopies = Objects.requireNonNull(confirmedCopies, "confirmedCopies");
        this.restoredCopies = Objects.requireNonNull(restoredCopies, "restoredCopies");
        this.cleanup = Objects.requireNonNull(cleanup, "cleanup");
        this.processes = Objects.requireNonNull(processes, "processes");
        this.networks = Objects.requireNonNull(networks, "networks");
        this.resumeMarkers = Objects.requireNonNull(resumeMarkers, "resumeMarkers");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.deciders = Objects.requireNonNull(deciders, "deciders");
        this.requeueWait = Objects.requireNonNull(requeueWait, "requeueWait");
        this.poll = Objects.requireNonNull(poll, "poll");
    }

    /** Sets the confirmed copies' deciders going, then removes every other migration's images and restore root. */
    public void recover() throws IOException {
        recoverConfirmed();
        Path roots = checkpointDirectory.resolve(IncomingMigrations.ROOTS);
        if (Files.isDirectory(roots)) {
            try (Stream<Path> stale = Files.list(roots)) {
                for (Path owned : (Iterable<Path>) stale::iterator) {
                    cleanup.unmountQuietly(owned.resolve("root"));
                }
            }
        }
        DirectoryTrees.delete(checkpointDirectory.resolve(IncomingMigrations.INCOMING));
        DirectoryTrees.delete(roots);
    }

    private void recoverConfirmed() throws IOException {
        for (Path record : confirmedCopies.records()) {
            ConfirmedMigration migration;
            try {
                migration = confirmedCopies.read(record);
            } catch (IOException e) {
                LOG.severe("unreadable record of a confirmed migration " + record + " (kept): " + e.getMessage());
                continue;
            }
            if (!isTheRestoredCopy(migration)) {
                LOG.severe("migration " + migration.migration() + ": the copy of job " + migration.job() + " restored here"
                        + " (pid " + migration.pid() + ") is gone; nothing here to resume");
                resumeMarkers.remove(migration.job());
                Files.deleteIfExists(record);
                continue;
            }
            LOG.warning("migration " + migration.migration() + ": this agent stopped after confirming job " + migration.job()
                    + " (restored as pid " + migration.pid() + "); asking Slurm whether the source requeued it");
            deciders.execute(() -> decide(migration, record));
        }
    }

    private boolean isTheRestoredCopy(ConfirmedMigration migration) {
        try {
            return processes.isAlive(migration.pid()) && resumeMarkers.startTime(migration.pid()) == migration.startTime();
        } catch (IOException e) {
            return false;
        }
    }

    private void decide(ConfirmedMigration migration, Path record) {
        long unchangedSince = System.nanoTime();
        try {
            while (true) {
                int now;
                try {
                    now = scheduler.job(migration.job()).restarts();
                } catch (Exception e) {
                    LOG.warning("migration " + migration.migration() + ": cannot read job " + migration.job()
                            + " from Slurm (" + e.getMessage() + "); its copy here stays stopped");
                    unchangedSince = System.nanoTime();
                    Thread.sleep(poll.toMillis());
                    continue;
                }
                if (now > migration.restartsBefore()) {
                    // The source requeued the job and killed its copy: the one here is resumed, as the source's resume would have.
                    restoredCopies.resume(migration.migration(), migration.job(), migration.uid(), migration.gid(), migration.manifest(),
                            migration.network(), migration.pid());
                    LOG.warning("migration " + migration.migration() + ": job " + migration.job() + " was requeued by its source:"
                            + " its copy restored here before this agent stopped runs now (pid " + migration.pid() + ")");
                    break;
                }
                if (System.nanoTime() - unchangedSince > requeueWait.toNanos()) {
                    LOG.info("migration " + migration.migration() + ": job " + migration.job() + " was never requeued: the"
                            + " source kept it; its copy here goes");
                    if (migration.network() != null) {
                        networks.releaseRestored(migration.network(), migration.migration());
                    }
                    processes.kill(migration.pid());
                    resumeMarkers.remove(migration.job());
                    break;
                }
                Thread.sleep(poll.toMillis());
            }
            Files.deleteIfExists(record);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.severe("migration " + migration.migration() + ": recovering job " + migration.job() + " failed (record "
                    + record + " kept): " + e.getMessage());
        }
    }
}
