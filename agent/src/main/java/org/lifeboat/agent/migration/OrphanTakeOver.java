package org.lifeboat.agent.migration;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.logging.Logger;
import org.lifeboat.agent.migration.IncomingMigration.Event;
import org.lifeboat.agent.migration.IncomingMigration.State;
import org.lifeboat.agent.slurm.SlurmJob;

/**
 * Takes over the jobs whose source node was lost after their copy was restored here. The source
 * keeps its job frozen until this node has restored and confirmed it; when the whole source node
 * dies in that window (after DUMP), its copy dies with it, and the stopped copy here is the job's
 * only checkpoint. Slurm notices the node gone ({@code SlurmdTimeout}) and requeues the job, which
 * raises its restart count: then the job is pinned to this node and let start at once, its batch
 * script (lifeboat-run) waits on the resume marker, and once Slurm runs it here the copy is resumed
 * where it was frozen. Until Slurm requeues the job nothing is done: a source that is merely slow,
 * or cut off from this node alone, still holds it, and Slurm does not requeue a job whose node answers.
 */
public final class OrphanTakeOver {

    private static final Logger LOG = Logger.getLogger(OrphanTakeOver.class.getName());

    private final IncomingMigrationTable table;
    private final RestoredCopies restoredCopies;
    private final ConfirmedCopies confirmedCopies;
    private final IncomingCleanup cleanup;
    private final TargetScheduler scheduler;
    private final Runnable tookOver;
    private final Clock clock;

    /**
     * @param scheduler the job as Slurm sees it, and starting it here
     * @param tookOver told each time a job runs here after its source node was lost (a metric)
     */
    public OrphanTakeOver(IncomingMigrationTable table, RestoredCopies restoredCopies, ConfirmedCopies confirmedCopies,
                          IncomingCleanup cleanup, TargetScheduler scheduler, Runnable tookOver, Clock clock) {
        this.table = Objects.requireNonNull(table, "table");
        this.restoredCopies = Objects.requireNonNull(restoredCopies, "restoredCopies");
        this.confirmedCopies = Objects.requireNonNull(confirmedCopies, "confirmedCopies");
        this.cleanup = Objects.requireNonNull(cleanup, "cleanup");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.tookOver = Objects.requireNonNull(tookOver, "tookOver");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Takes one step for each stopped copy whose source has said nothing for {@code silence}.
     *
     * @return the ids of the migrations whose job now runs here
     */
    public List<String> takeOverOrphans(Duration silence, String thisNode) {
        Instant cutoff = clock.instant().minus(silence);
        List<String> resumed = new ArrayList<>();
        for (IncomingMigration migration : table.all()) {
            if (!holdsStoppedCopy(migration) || migration.requestsInHand.get() > 0 || !migration.lastHeard.isBefore(cutoff)
                    || !migration.lock.tryLock()) {
                continue;
            }
            try {
                if (holdsStoppedCopy(migration) && step(migration, thisNode)) {
                    resumed.add(migration.id);
                }
            } finally {
                migration.lock.unlock();
            }
        }
        return resumed;
    }

    /** A copy restored here and not yet running: what a take-over acts on. */
    private static boolean holdsStoppedCopy(IncomingMigration migration) {
        return migration.accepts(Event.GIVE_UP);
    }

    private boolean step(IncomingMigration migration, String thisNode) {
        Optional<SlurmJob> before = migration.jobBefore();
        if (before.isEmpty()) {
            return false;
        }
        SlurmJob now;
        try {
            now = scheduler.job(migration.jobId);
        } catch (Exception e) {
            LOG.warning("migration " + migration.id + ": its source is silent and Slurm cannot tell about job " + migration.jobId
                    + " (" + e.getMessage() + "); its copy here stays stopped");
            return false;
        }
        String source = Optional.ofNullable(before.get().nodeList()).orElse("its source");
        int restartsBefore = before.get().restarts();
        boolean startedHere = migration.state() == State.STARTED_HERE;
        OrphanStep step = OrphanStep.of(now, restartsBefore, startedHere,
                startedHere || migration.state() == State.CONFIRMED, thisNode);
        if (migration.mode == TransferMode.POST_COPY && (step == OrphanStep.START_HERE || step == OrphanStep.RESUME_HERE)) {
            // A post-copy copy holds no memory of the job's: it was on the lost source. Slurm starts the job afresh.
            LOG.warning("migration " + migration.id + ": job " + migration.jobId + " was requeued after its source was lost,"
                    + " but its copy here is post-copy, without its memory: it cannot be taken over");
            step = OrphanStep.GIVE_UP;
        }
        try {
            switch (step) {
                case WAIT -> {
                    return false;
                }
                case START_HERE -> {
                    startHere(migration, restartsBefore, source);
                    return false;
                }
                case RESUME_HERE -> {
                    resumeHere(migration, source);
                    return true;
                }
                case GIVE_UP -> {
                    LOG.warning("migration " + migration.id + ": job " + migration.jobId + " went on without the copy here"
                            + " (Slurm has it " + now.state() + (now.nodeList() == null ? "" : " on " + now.nodeList())
                            + "): the copy goes");
                    migration.transition(Event.GIVE_UP, () -> {
                        cleanup.discard(migration);
                        return null;
                    });
                    if (startedHere) {
                        restoredCopies.unregister(migration.jobId);
                    }
                    return false;
                }
                default -> throw new IllegalStateException(step.name());
            }
        } catch (Exception e) {
            LOG.warning("migration " + migration.id + ": taking over job " + migration.jobId + " (" + step + ") failed, tried"
                    + " again at the next sweep: " + e.getMessage());
            return false;
        }
    }

    private void startHere(IncomingMigration migration, int restartsBefore, String source) throws Exception {
        // The requeued job started here must wait for the copy, not start its workload afresh; and when
        // its batch step starts, the step takes the copy into its cgroups (it is registered first).
        migration.transition(Event.START_HERE, () -> {
            confirmedCopies.keep(migration, restartsBefore);
            restoredCopies.register(migration.jobId, migration.uid, migration.gid, migration.manifest, migration.restoredPid);
            scheduler.pinHere(migration.jobId);
            return null;
        });
        long downtime = (System.nanoTime() - migration.preparedNanos) / 1_000_000;
        scheduler.startHere(migration.jobId, source, downtime);
        LOG.warning("migration " + migration.id + ": " + source + " has said nothing for "
                + Duration.between(migration.lastHeard, clock.instant()).toSeconds() + " s and Slurm requeued job "
                + migration.jobId + " (node lost): the job is started here, from its copy restored here (pid "
                + migration.restoredPid + ")");
    }

    private void resumeHere(IncomingMigration migration, String source) throws Exception {
        migration.transition(Event.RESUME_HERE, () -> {
            restoredCopies.resume(migration.id, migration.jobId, migration.uid, migration.gid, migration.manifest, migration.network,
                    migration.restoredPid);
            return null;
        });
        tookOver.run();
        LOG.warning("migration " + migration.id + ": job " + migration.jobId + " runs here, resumed from the copy restored"
                + " before " + source + " was lost (pid " + migration.restoredPid + ")");
        cleanup.forgetTakenOver(migration);
    }
}
