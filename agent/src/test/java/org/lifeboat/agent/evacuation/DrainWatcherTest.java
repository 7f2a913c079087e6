package org.lifeboat.agent.evacuation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.process.FakeCommandRunner;
import org.lifeboat.agent.slurm.SlurmClient;

class DrainWatcherTest {

    private static final String IDLE = "NodeName=node1 Arch=x86_64 CoresPerSocket=1 State=IDLE ThreadsPerCore=1\n";
    private static final String DRAINING = "NodeName=node1 Arch=x86_64 CoresPerSocket=1 State=MIXED+DRAIN ThreadsPerCore=1\n";

    private final FakeCommandRunner commands = new FakeCommandRunner();
    private final List<String> evacuations = new ArrayList<>();
    private final DrainWatcher watcher = new DrainWatcher("node1", new SlurmClient(commands), evacuations::add,
            Duration.ofSeconds(1));

    @Test
    void aNodeInServiceIsLeftAlone() {
        commands.answer(0, IDLE, "");
        watcher.poll();
        assertEquals(List.of(), evacuations);
        assertEquals(List.of("scontrol", "--oneliner", "show", "node", "node1"), commands.commands().get(0));
    }

    @Test
    void everyLookAtADrainedNodeEvacuatesItUntilItIsResumed() {
        commands.answer(0, DRAINING, "").answer(0, DRAINING, "").answer(0, IDLE, "");
        watcher.poll();
        watcher.poll();
        watcher.poll();
        assertEquals(List.of("drain", "drain"), evacuations, "jobs that found no target are tried again while drained");
    }

    @Test
    void theNodeCountsAsLeavingFromThePollThatSeesItDrainedToTheOneThatSeesItResumed() {
        commands.answer(0, DRAINING, "")
                .answer(1, "", "slurm_load_node error: Unable to contact slurm controller (connect failure)\n")
                .answer(0, IDLE, "");
        assertFalse(watcher.nodeLeaving(), "before any poll");

        watcher.poll();
        assertTrue(watcher.nodeLeaving());
        watcher.poll();
        assertTrue(watcher.nodeLeaving(), "a poll that cannot reach Slurm keeps what the last one saw");
        watcher.poll();
        assertFalse(watcher.nodeLeaving());
    }

    @Test
    void anUnreachableControllerEvacuatesNothing() {
        commands.answer(1, "", "slurm_load_node error: Unable to contact slurm controller (connect failure)\n")
                .failToRun("scontrol: not found");
        watcher.poll();
        watcher.poll();
        assertEquals(List.of(), evacuations);
    }
}
