package org.lifeboat.agent.evacuation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
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

    @Test
    void aPollThatThrowsDoesNotEndThePollingAndAHungOneIsReported() throws Exception {
        CountDownLatch hung = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        commands.answer(0, DRAINING, "").answer(0, DRAINING, "");
        List<String> reasons = new ArrayList<>();
        DrainWatcher watcher = new DrainWatcher("node1", new SlurmClient(commands), reason -> {
            reasons.add(reason);
            if (reasons.size() == 1) {
                throw new IllegalStateException("no evacuation pool");
            }
            hung.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, Duration.ofMillis(10), () -> true);

        watcher.start();
        assertTrue(hung.await(10, TimeUnit.SECONDS), "the poll after the one that threw never ran");
        assertEquals(Optional.empty(), watcher.polling().failure(), "a poll under way for less than the limit");
        release.countDown();
        watcher.stop();
        assertEquals(Optional.empty(), watcher.polling().failure(), "a stopped watcher is not a failed one");
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
