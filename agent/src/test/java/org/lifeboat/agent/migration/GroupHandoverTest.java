package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The coordinator's hand-over: one requeue for the whole job, placed on the staying nodes and the target. */
class GroupHandoverTest {

    private final List<String> calls = new ArrayList<>();
    private final JobHandover slurm = new JobHandover() {
        @Override
        public void requeue(long jobId) {
            calls.add("requeue " + jobId);
        }

        @Override
        public void place(long jobId, String sourceNode, String targetNode, long downtimeMillis) {
            calls.add("place " + jobId + " from " + sourceNode + " on " + targetNode);
        }

        @Override
        public void releaseElsewhere(long jobId, String sourceNode) {
            calls.add("release " + jobId);
        }
    };

    @Test
    void theJobIsRequeuedOnceAndPlacedOnItsNewNodes() throws Exception {
        GroupHandover handover = new GroupHandover(slurm, new StayingParts("job42-abcdef12", 42, Map.of()), List.of("node2", "node3"));

        handover.requeue(42);
        handover.place(42, "node1", "node3", 900);

        assertEquals(List.of("requeue 42", "place 42 from node1 on node2,node3"), calls);
    }
}
