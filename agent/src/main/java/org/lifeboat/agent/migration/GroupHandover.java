package org.lifeboat.agent.migration;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The coordinator's hand-over of a job on several nodes whose one node's part moved: the job is
 * requeued only once every staying part is held ready in place, then pinned to its new node set
 * (the staying nodes and the target), where each part's restored copy waits for it.
 */
final class GroupHandover implements JobHandover {

    // A staying part is dumped and restored on its own node's tmpfs while this node's part crosses the link.
    private static final Duration READY_TIMEOUT = Duration.ofMinutes(30);

    private final JobHandover slurm;
    private final StayingParts staying;
    private final List<String> newNodes;

    GroupHandover(JobHandover slurm, StayingParts staying, List<String> newNodes) {
        this.slurm = Objects.requireNonNull(slurm, "slurm");
        this.staying = Objects.requireNonNull(staying, "staying");
        this.newNodes = List.copyOf(newNodes);
    }

    @Override
    public void requeue(long jobId) throws Exception {
        staying.awaitReady(READY_TIMEOUT);
        slurm.requeue(jobId);
        staying.decide(true);
    }

    @Override
    public void place(long jobId, String sourceNode, String targetNode, long downtimeMillis) throws Exception {
        slurm.place(jobId, sourceNode, String.join(",", newNodes), downtimeMillis);
    }

    @Override
    public void releaseElsewhere(long jobId, String sourceNode) {
        throw new UnsupportedOperationException("a job on several nodes is not parked");
    }
}
