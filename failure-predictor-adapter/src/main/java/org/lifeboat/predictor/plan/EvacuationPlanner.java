package org.lifeboat.predictor.plan;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import org.lifeboat.predictor.config.PlanningConfig;

/**
 * Orders the jobs of a node predicted to fail, most urgent first, and says which cannot make the deadline.
 *
 * <p>The model, deliberately simple and on the safe side: a job's live migration takes a fixed overhead
 * plus its memory over its share of the link, where the link is shared evenly by the migrations running
 * at once ({@code min(maxConcurrent, jobs)} lanes). Urgency is slack: the time left at the deadline if
 * the job started now. Jobs are taken least slack first (with one deadline for the whole node, the
 * biggest first: they are the ones that cannot wait) and each goes to the lane free earliest. A job whose
 * migration would end after the deadline there is not given a lane; it is to be checkpointed to shared
 * storage first, and the smaller jobs behind it still get the lane time it would have taken.
 *
 * <p>Pure: no clock, no I/O; the evacuator passes "now", and the link's throughput is the configured figure.
 */
public final class EvacuationPlanner {

    private final long linkBytesPerSecond;
    private final Duration migrationOverhead;
    private final int maxConcurrentMigrations;

    public EvacuationPlanner(long linkBytesPerSecond, Duration migrationOverhead, int maxConcurrentMigrations) {
        if (linkBytesPerSecond < 1) {
            throw new IllegalArgumentException("linkBytesPerSecond must be positive, got " + linkBytesPerSecond);
        }
        if (Objects.requireNonNull(migrationOverhead, "migrationOverhead").isNegative()) {
            throw new IllegalArgumentException("migrationOverhead must not be negative");
        }
        if (maxConcurrentMigrations < 1) {
            throw new IllegalArgumentException("maxConcurrentMigrations must be at least 1, got " + maxConcurrentMigrations);
        }
        this.linkBytesPerSecond = linkBytesPerSecond;
        this.migrationOverhead = migrationOverhead;
        this.maxConcurrentMigrations = maxConcurrentMigrations;
    }

    /**
     * A planner with the configured figures (predictor.planning) and as many lanes as the evacuator
     * really runs migrations at once (the agent's evacuation.concurrency), so that its plan is the one carried out.
     */
    public static EvacuationPlanner from(PlanningConfig config, int concurrentMigrations) {
        return new EvacuationPlanner(config.linkBytesPerSecond(), config.migrationOverhead(), concurrentMigrations);
    }

    /** The expected duration of one live migration while {@code concurrent} migrations share the link. */
    public Duration estimate(long memoryBytes, int concurrent) {
        double seconds = (double) memoryBytes * concurrent / linkBytesPerSecond;
        return migrationOverhead.plusNanos((long) Math.ceil(Math.min(seconds, Long.MAX_VALUE / 1e9 / 2) * 1e9));
    }

    /** Checkpoints first (they start at once), then live migrations in the order to start them. */
    public List<PlannedMove> plan(List<JobToMove> jobs, Instant now, Instant deadline) {
        Objects.requireNonNull(now, "now");
        Objects.requireNonNull(deadline, "deadline");
        int lanes = Math.min(maxConcurrentMigrations, Math.max(1, jobs.size()));
        List<JobToMove> mostUrgentFirst = new ArrayList<>(jobs);
        // Least slack first; with one deadline for all, that is the longest estimate first. Ties by id, so plans repeat.
        mostUrgentFirst.sort(Comparator.comparingLong(JobToMove::memoryBytes).reversed().thenComparing(JobToMove::jobId));

        Instant[] laneFreeAt = new Instant[lanes];
        Arrays.fill(laneFreeAt, now);
        List<PlannedMove> checkpoints = new ArrayList<>();
        List<PlannedMove> migrations = new ArrayList<>();
        for (JobToMove job : mostUrgentFirst) {
            Duration estimate = estimate(job.memoryBytes(), lanes);
            Instant latestStart = deadline.minus(estimate);
            int lane = earliestFree(laneFreeAt);
            Instant finish = laneFreeAt[lane].plus(estimate);
            if (finish.isAfter(deadline)) {
                checkpoints.add(new PlannedMove(job, PlannedMove.Action.CHECKPOINT_TO_SHARED_FIRST, -1, estimate, now,
                        now.plus(estimate), latestStart));
            } else {
                migrations.add(new PlannedMove(job, PlannedMove.Action.MIGRATE_LIVE, lane, estimate, laneFreeAt[lane], finish,
                        latestStart));
                laneFreeAt[lane] = finish;
            }
        }
        List<PlannedMove> plan = new ArrayList<>(checkpoints);
        plan.addAll(migrations);
        return List.copyOf(plan);
    }

    private static int earliestFree(Instant[] laneFreeAt) {
        int earliest = 0;
        for (int lane = 1; lane < laneFreeAt.length; lane++) {
            if (laneFreeAt[lane].isBefore(laneFreeAt[earliest])) {
                earliest = lane;
            }
        }
        return earliest;
    }
}
