package org.lifeboat.agent.evacuation;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.logging.Logger;
import org.lifeboat.agent.migration.MigrationException;
import org.lifeboat.agent.migration.MigrationReport;
import org.lifeboat.agent.migration.Outcome;
import org.lifeboat.agent.migration.MigrationService;
import org.lifeboat.agent.migration.TransferMode;
import org.lifeboat.predictor.plan.EvacuationPlanner;
import org.lifeboat.predictor.plan.JobToMove;
import org.lifeboat.predictor.plan.PlannedMove;

/**
 * Moves every migratable job off this node, each to the node Slurm chooses, a bounded number at a
 * time (each migration is limited by the node's link and CPU; running them all at once would slow
 * every one of them). A job already leaving is not started again; a job Slurm has no room for, or
 * whose migration rolled back, keeps running here and is tried again after a pause: each attempt
 * freezes it for a while, so failing attempts must not follow each other back to back.
 */
public final class Evacuator {

    private static final Logger LOG = Logger.getLogger(Evacuator.class.getName());
    static final Duration BUSY_RETRY_PAUSE = Duration.ofSeconds(5);

    private final MigrationService migrations;
    private final TriggerModes modes;
    // Jobs of a predicted evacuation whose memory is not expected to cross before the deadline (see TriggerModes).
    private final Set<Long> tooLateForPostCopy = ConcurrentHashMap.newKeySet();
    // As many threads as the evacuation's concurrency: the bound on migrations at once is the pool's size.
    private final Executor workers;
    private final Set<Long> queued = ConcurrentHashMap.newKeySet();
    // Raised by cancelPending(): queued jobs whose migration has not begun stay where they are.
    private volatile long generation;
    private volatile boolean anyStarted;
    // A failure of this node is predicted: a job Slurm has no node for is parked rather than left here.
    private volatile boolean failureExpected;
    // Jobs a predicted evacuation's plan says cannot move live before the deadline: parked first.
    private final Set<Long> parkFirst = ConcurrentHashMap.newKeySet();
    private final Map<Long, Long> retryNotBefore = new ConcurrentHashMap<>();
    private final Duration retryPause;

    /**
     * @param modes how jobs move, by trigger
     * @param workers runs the migrations, as many at once as it has threads; the agent's lifecycle owns it
     */
    public Evacuator(MigrationService migrations, TriggerModes modes, Duration retryPause, Executor workers) {
        this.migrations = Objects.requireNonNull(migrations, "migrations");
        this.modes = Objects.requireNonNull(modes, "modes");
        this.retryPause = Objects.requireNonNull(retryPause, "retryPause");
        this.workers = Objects.requireNonNull(workers, "workers");
    }

    /** Queues a migration for every registered job not already queued; returns the jobs queued now. */
    public List<Long> evacuate(String reason) {
        return evacuate(reason, migrations.registeredJobs());
    }

    /**
     * Evacuates before a predicted failure: the jobs go in the planner's order (least slack first,
     * by each container's memory against the link). A job the plan says cannot make the deadline
     * is parked (checkpointed to the shared directory and requeued, so Slurm restarts it from the
     * checkpoint on another node), and so is a job Slurm has no node for now: the node is expected
     * to fail, so waiting for a target could lose the job. Without a shared directory both go live,
     * last, so the others get the link first, and a job with no target keeps being retried.
     */
    public List<Long> evacuate(String reason, EvacuationPlanner planner, Instant deadline) {
        List<JobToMove> jobs = new ArrayList<>();
        for (long job : migrations.registeredJobs()) {
            jobs.add(new JobToMove(Long.toString(job), migrations.memoryBytes(job)));
        }
        List<Long> inTime = new ArrayList<>();
        List<Long> late = new ArrayList<>();
        boolean park = migrations.canPark();
        for (PlannedMove move : planner.plan(jobs, Instant.now(), deadline)) {
            long job = Long.parseLong(move.job().jobId());
            if (move.action() == PlannedMove.Action.CHECKPOINT_TO_SHARED_FIRST) {
                LOG.warning("evacuation (" + reason + "): job " + job + " (" + move.job().memoryBytes() + " bytes) is not"
                        + " expected to move before " + deadline + (park ? "; it is parked: checkpointed to the shared"
                        + " directory and requeued" : "; it goes last (no shared-directory to park it in)"));
                if (modes.refusesPostCopyWhenLate()) {
                    // Its memory would still be crossing when the node fails: the job would be lost with it. Diskless
                    // fails before the point of no return instead, and the job stays here, frozen for nothing at worst.
                    LOG.warning("evacuation (" + reason + "): post-copy refused for job " + job + ": its memory is not"
                            + " expected to have crossed before " + deadline + "; it moves " + TransferMode.DISKLESS.wireName());
                    tooLateForPostCopy.add(job);
                }
                late.add(job);
            } else {
                inTime.add(job);
            }
        }
        failureExpected();
        List<Long> order = new ArrayList<>();
        if (park) {
            parkFirst.addAll(late);
            order.addAll(late);
            order.addAll(inTime);
        } else {
            order.addAll(inTime);
            order.addAll(late);
        }
        return evacuate(reason, order);
    }

    /**
     * This node is expected to fail (a prediction drains it): from now on, until the prediction
     * is withdrawn ({@link #cancelPending}), a job Slurm has no node for is parked, whichever
     * evacuation (the prediction's or the drain's) finds it.
     */
    public void failureExpected() {
        failureExpected = true;
    }

    private List<Long> evacuate(String reason, List<Long> jobs) {
        long now = System.nanoTime();
        List<Long> started = jobs.stream()
                .filter(job -> retryNotBefore.getOrDefault(job, now) - now <= 0)
                .filter(queued::add)
                .toList();
        long queuedIn = generation;
        for (long job : started) {
            workers.execute(() -> {
                try {
                    if (queuedIn != generation) {
                        LOG.info("evacuation (" + reason + "): job " + job + " stays here: the evacuation was cancelled");
                        return;
                    }
                    anyStarted = true;
                    MigrationReport report;
                    if (parkFirst.remove(job) && migrations.canPark()) {
                        report = migrations.park(job);
                    } else {
                        try {
                            report = migrations.migrate(job, null, modes.forJob(failureExpected, tooLateForPostCopy.contains(job)));
                        } catch (MigrationException e) {
                            if (!failureExpected || !migrations.canPark() || e.reason() != MigrationException.Reason.NO_TARGET) {
                                throw e;
                            }
                            LOG.warning("evacuation (" + reason + "): " + e.getMessage() + "; it is parked instead");
                            report = migrations.park(job);
                        }
                    }
                    LOG.info("evacuation (" + reason + "): job " + job + " " + report.outcome() + " to " + report.to()
                            + (report.cause() == null ? "" : " (" + report.cause() + ")"));
                    if (report.outcome() == Outcome.ROLLED_BACK) {
                        retryLater(job);
                    } else {
                        retryNotBefore.remove(job);
                    }
                } catch (MigrationException e) {
                    LOG.warning("evacuation (" + reason + "): job " + job + " stays here for now: " + e.getMessage());
                    // While other jobs of this node are being placed, Slurm's answer for this one changes within
                    // seconds (its probe sees their pending requeues): try again soon, not after the full pause.
                    if (e.reason() == MigrationException.Reason.NO_TARGET && queued.size() > 1) {
                        retryNotBefore.put(job, System.nanoTime() + BUSY_RETRY_PAUSE.toNanos());
                    } else {
                        retryLater(job);
                    }
                } catch (RuntimeException e) {
                    LOG.severe("evacuation (" + reason + "): job " + job + " failed unexpectedly: " + e);
                } finally {
                    queued.remove(job);
                }
            });
        }
        return started;
    }

    /**
     * Cancels the migrations queued but not begun (a prediction was withdrawn); those under way
     * finish. Tells whether any migration had begun since the last cancellation.
     */
    public boolean cancelPending() {
        generation++;
        failureExpected = false;
        parkFirst.clear();
        tooLateForPostCopy.clear();
        boolean started = anyStarted;
        anyStarted = false;
        return started;
    }

    private void retryLater(long job) {
        retryNotBefore.put(job, System.nanoTime() + retryPause.toNanos());
    }
}
