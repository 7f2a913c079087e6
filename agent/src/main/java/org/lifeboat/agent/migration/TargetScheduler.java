package org.lifeboat.agent.migration;

import org.lifeboat.agent.slurm.SlurmJob;

/**
 * What a target node needs of the scheduler for the jobs it receives: the job as the scheduler sees
 * it, and, when the source node is lost after the job's copy was restored here, the requeued job
 * started here. The Slurm implementation is {@link SlurmTargetScheduler}.
 */
public interface TargetScheduler {

    SlurmJob job(long jobId) throws Exception;

    /** Lets the pending job start on this node alone. */
    void pinHere(long jobId) throws Exception;

    /** Lets the job, pinned here, start now, and records the move in it. */
    void startHere(long jobId, String sourceNode, long downtimeMillis) throws Exception;
}
