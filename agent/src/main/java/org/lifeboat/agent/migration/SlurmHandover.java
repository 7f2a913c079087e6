package org.lifeboat.agent.migration;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import org.lifeboat.agent.slurm.SlurmClient;

/**
 * Slurm's side of a migration: the same job id is requeued, pinned to the target with its
 * BeginTime cleared, and the move is written into the job's AdminComment.
 */
public final class SlurmHandover implements JobHandover {

    // Requeue takes the job through COMPLETING (epilog, KillWait) before it is PENDING: about 2 s here.
    private static final Duration PENDING_TIMEOUT = Duration.ofSeconds(60);
    // A node that is free starts the job within a second of starttime=now; a busy one may take as long as its jobs.
    private static final Duration RUNNING_TIMEOUT = Duration.ofSeconds(60);

    private final SlurmClient slurm;
    private final Clock clock;

    public SlurmHandover(SlurmClient slurm, Clock clock) {
        this.slurm = Objects.requireNonNull(slurm, "slurm");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    public void requeue(long jobId) throws Exception {
        slurm.requeue(jobId);
    }

    @Override
    public void place(long jobId, String sourceNode, String targetNode, long downtimeMillis) throws Exception {
        slurm.startPendingJobOn(jobId, targetNode, PENDING_TIMEOUT);
        slurm.setAdminComment(jobId, record(sourceNode, targetNode, clock.instant(), downtimeMillis));
        slurm.awaitState(jobId, "RUNNING", RUNNING_TIMEOUT);
    }

    @Override
    public void releaseElsewhere(long jobId, String sourceNode) throws Exception {
        slurm.awaitState(jobId, "PENDING", PENDING_TIMEOUT);
        slurm.releaseToAnyNodeBut(jobId, sourceNode);
        slurm.setAdminComment(jobId, "lifeboat-parked:" + sourceNode + "@" + clock.instant().truncatedTo(ChronoUnit.SECONDS));
    }

    /** The AdminComment: one token, so that {@code scontrol --oneliner} output stays parseable. */
    static String record(String sourceNode, String targetNode, Instant when, long downtimeMillis) {
        return "lifeboat-migrated:" + sourceNode + "->" + targetNode + "@" + when.truncatedTo(ChronoUnit.SECONDS)
                + ",downtime=" + downtimeMillis + "ms";
    }
}
