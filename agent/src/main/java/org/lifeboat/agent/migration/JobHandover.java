package org.lifeboat.agent.migration;

/**
 * How the scheduler takes a migrated job off the source and starts it again on the target, keeping
 * its id. The Slurm implementation is {@link SlurmHandover}; tests of the engine alone use their own.
 */
public interface JobHandover {

    /**
     * Makes the scheduler give the job up on this node. Once this returns, the job's copy here must
     * never run again; when it throws, nothing has changed and the migration rolls back.
     */
    void requeue(long jobId) throws Exception;

    /**
     * Has the requeued job start on the target node, where its container already runs, and records
     * the move in the job.
     */
    void place(long jobId, String sourceNode, String targetNode, long downtimeMillis) throws Exception;

    /**
     * Lets a parked job, requeued, start on any node but {@code sourceNode} (pinned there by its first
     * placement, it would wait for the failing node), at once rather than after the requeue delay.
     */
    void releaseElsewhere(long jobId, String sourceNode) throws Exception;
}
