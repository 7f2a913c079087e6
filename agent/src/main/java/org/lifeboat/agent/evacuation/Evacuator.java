package org.lifeboat.agent.evacuation;

import java.time.Duration;
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
        long now = System.nanoTime();
        List<Long> started = migrations.registeredJobs().stream()
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
