package org.lifeboat.agent.migration;

import java.time.Clock;
import java.util.Objects;
import org.lifeboat.agent.slurm.SlurmClient;
import org.lifeboat.agent.slurm.SlurmJob;

/** A target node's side of Slurm: the same requeue record in the AdminComment as a source writes. */
public final class SlurmTargetScheduler implements TargetScheduler {

    private final SlurmClient slurm;
    private final String nodeName;
    private final Clock clock;

    public SlurmTargetScheduler(SlurmClient slurm, String nodeName, Clock clock) {
        this.slurm = Objects.requireNonNull(slurm, "slurm");
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    public SlurmJob job(long jobId) throws Exception {
        return slurm.job(jobId);
    }

    @Override
    public void pinHere(long jobId) throws Exception {
        slurm.pin(jobId, nodeName);
    }

    @Override
    public void startHere(long jobId, String sourceNode, long downtimeMillis) throws Exception {
        slurm.startNow(jobId);
        slurm.setAdminComment(jobId, SlurmHandover.record(sourceNode, nodeName, clock.instant(), downtimeMillis));
    }
}
