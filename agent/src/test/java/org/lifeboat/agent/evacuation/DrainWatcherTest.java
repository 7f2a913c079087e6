package org.lifeboat.agent.evacuation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.process.FakeCommandRunner;
import org.lifeboat.agent.slurm.SlurmClient;

class DrainWatcherTest {

    private static final String IDLE = "NodeName=node1 Arch=x86_64 CoresPerSocket=1 State=IDLE ThreadsPerCore=1\n";
    private static final String DRAINING = "NodeName=node1 Arch=x86_64 CoresPerSocket=1 State=MIXED+DRAIN ThreadsPerCore=1\n";

    private final FakeCommandRunner commands = new FakeCommandRunner();
    private final List<String> evacuations = new ArrayList<>();
    private boolean jobsHere = true;
    private final DrainWatcher watcher = new DrainWatcher("node1", new SlurmClient(commands), evacuations::add,
            Duration.ofSeconds(1), () -> jobsHere);

    @Test
    void aNodeWithoutMigratableJobsAsksSlurmNothing() {
        jobsHere = false;
        watcher.poll();
        watcher.poll();
        assertEquals(List.of(), commands.commands());

        // A job registers on the drained node: the next look sees the drain.
        jobsHere = true;
        commands.answer(0, DRAINING, "");
        watcher.poll();
        assertEquals(List.of("drain"), evacuations);
    }

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
    void anUnreachableControllerEvacuatesNothing() {
        commands.answer(1, "", "slurm_load_node error: Unable to contact slurm controller (connect failure)\n")
                .failToRun("scontrol: not found");
        watcher.poll();
        watcher.poll();
        assertEquals(List.of(), evacuations);
    }

    @Test
    void aPollThatThrowsEndsThePollingAndTheWatchdogIsToldWhy() throws Exception {
        commands.answer(0, DRAINING, "");
        DrainWatcher broken = new DrainWatcher("node1", new SlurmClient(commands), reason -> {
            throw new IllegalStateException("no evacuation pool");
        }, Duration.ofMillis(10), () -> true);

        broken.start();
        Optional<String> failure = Optional.empty();
        for (int attempt = 0; attempt < 500 && failure.isEmpty(); attempt++) {
            Thread.sleep(10);
            failure = broken.polling().failure();
        }
        broken.stop();

        assertTrue(failure.orElse("").startsWith("the drain watcher no longer polls Slurm: its poll failed with "
                + "java.lang.IllegalStateException: no evacuation pool"), failure.toString());
        assertEquals(1, commands.commands().size(), "no poll after the one that threw");
        assertEquals(Optional.empty(), broken.polling().failure(), "a stopped watcher is not a failed one");
    }

    @Test
    void aWatcherPollingOnItsScheduleIsAlive() throws Exception {
        for (int answer = 0; answer < 1000; answer++) {
            commands.answer(0, IDLE, "");
        }
        DrainWatcher polling = new DrainWatcher("node1", new SlurmClient(commands), evacuations::add, Duration.ofMillis(10),
                () -> true);

        polling.start();
        Thread.sleep(50);
        Optional<String> failure = polling.polling().failure();
        polling.stop();

        assertEquals(Optional.empty(), failure);
    }
}
