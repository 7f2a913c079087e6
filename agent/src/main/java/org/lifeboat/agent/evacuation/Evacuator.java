package org.lifeboat.agent.evacuation;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.logging.Logger;
import org.lifeboat.agent.migration.MigrationException;
import org.lifeboat.agent.migration.MigrationReport;
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

    private final MigrationService migrations;
    private final TransferMode mode;
    private final ExecutorService workers;
    private final Set<Long> queued = ConcurrentHashMap.newKeySet();
    // Raised by cancelPending(): queued jobs whose migration has not begun stay where they are.
    private volatile long generation;
    private volatile boolean anyStarted;
    private final Map<Long, Long> retryNotBefore = new ConcurrentHashMap<>();
    private final Duration retryPause;

    public Evacuator(MigrationService migrations, TransferMode mode, int concurrency, Duration retryPause) {
        this.migrations = Objects.requireNonNull(migrations, "migrations");
        this.mode = Objects.requireNonNull(mode, "mode");
        this.retryPause = Objects.requireNonNull(retryPause, "retryPause");
        if (concurrency < 1) {
            throw new IllegalArgumentException("concurrency must be at least 1, not " + concurrency);
        }
        this.workers = Executors.newFixedThreadPool(concurrency, runnable -> {
            Thread thread = new Thread(runnable, "lifeboat-evacuation");
            thread.setDaemon(true);
            return thread;
        });
    }

    /** Queues a migration for every registered job not already queued; returns the jobs queued now. */
    public List<Long> evacuate(String reason) {
        return evacuate(reason, migrations.registeredJobs());
    }

    /**
     * Evacuates before a predicted failure: the jobs go in the planner's order (least slack first,
     * by each container's memory against the link), and a job the plan says cannot make the
     * deadline still goes, last, so the others get the link first.
     */
    public List<Long> evacuate(String reason, EvacuationPlanner planner, Instant deadline) {
        List<JobToMove> jobs = new ArrayList<>();
        for (long job : migrations.registeredJobs()) {
            jobs.add(new JobToMove(Long.toString(job), migrations.memoryBytes(job)));
        }
        List<Long> inTime = new ArrayList<>();
        List<Long> late = new ArrayList<>();
        for (PlannedMove move : planner.plan(jobs, Instant.now(), deadline)) {
            long job = Long.parseLong(move.job().jobId());
            if (move.action() == PlannedMove.Action.CHECKPOINT_TO_SHARED_FIRST) {
                LOG.warning("evacuation (" + reason + "): job " + job + " (" + move.job().memoryBytes() + " bytes) is not"
                        + " expected to move before " + deadline + "; it goes last (checkpointing to shared storage first is"
                        + " not implemented)");
                late.add(job);
            } else {
                inTime.add(job);
            }
        }
        inTime.addAll(late);
        return evacuate(reason, inTime);
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
                    MigrationReport report = migrations.migrate(job, null, mode);
                    LOG.info("evacuation (" + reason + "): job " + job + " " + report.outcome() + " to " + report.to()
                            + (report.cause() == null ? "" : " (" + report.cause() + ")"));
                    if (report.outcome().equals(MigrationReport.ROLLED_BACK)) {
                        retryLater(job);
                    } else {
                        retryNotBefore.remove(job);
                    }
                } catch (MigrationException e) {
                    LOG.warning("evacuation (" + reason + "): job " + job + " stays here for now: " + e.getMessage());
                    retryLater(job);
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
        boolean started = anyStarted;
        anyStarted = false;
        return started;
    }

    private void retryLater(long job) {
        retryNotBefore.put(job, System.nanoTime() + retryPause.toNanos());
    }
}
