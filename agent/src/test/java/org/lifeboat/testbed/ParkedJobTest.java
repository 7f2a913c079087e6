package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Parked jobs (checkpointed to the shared directory and requeued) on the real cluster: with no node
 * free to take the job before a predicted failure, it waits PENDING until one frees up, and with too
 * little time to move it live it is parked at once; either way the node Slurm starts it on restores
 * the checkpoint: the workload goes on where it stopped, the checkpoint goes once it runs, and the
 * job completes with exit code 0.
 */
@TestbedIntegration
final class ParkedJobTest {

    private static final int MEMORY_MIB = 256;
    private Testbed testbed;

    @AfterEach
    void undrain() {
        if (testbed != null) {
            testbed.lifeboat("predict", "node1", "--cancel", "--url", testbed.agentUrl("node1", ""),
                    "--token-file", testbed.predictionToken("node1").toString());
        }
    }

    @Test
    void aPredictedFailureWithNoTargetParksTheJobWhichResumesFromItsCheckpointWhenANodeFreesUp(Testbed testbed)
            throws Exception {
        this.testbed = testbed;
        // A fresh agent: no prediction left in its book by an earlier test (a repeated one is deduplicated).
        testbed.restartAgent("node1");
        testbed.run("scontrol", "update", "nodename=node2,node3", "state=drain", "reason=lifeboat-test-busy").orThrow();
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", MEMORY_MIB);
        workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(5);

        testbed.lifeboat("predict", "node1", "--within", "10m", "--confidence", "1.0", "--reason", "parking test",
                "--url", testbed.agentUrl("node1", ""), "--token-file", testbed.predictionToken("node1").toString()).orThrow();
        Testbed.await(() -> testbed.job(workload.jobId).getOrDefault("AdminComment", "").startsWith("lifeboat-parked:node1@"),
                Duration.ofSeconds(60), () -> "job " + workload.jobId + " was not parked: " + testbed.job(workload.jobId) + "\n"
                        + read(testbed.agentLog("node1")));
        Path checkpoint = testbed.runDirectory().resolve("storage/parked/job" + workload.jobId);
        assertTrue(Files.isRegularFile(checkpoint.resolve("parked.json")), "no parked checkpoint in " + checkpoint);
        testbed.awaitJobState(workload.jobId, "PENDING", Duration.ofSeconds(30));
        int parkedAt = workload.sequence().size();
        Thread.sleep(1000);
        assertEquals(parkedAt, workload.sequence().size(), "the parked job still counts");
        MigrationEngineTest.assertNothingLeftOn(testbed, "node1");

        long freed = System.nanoTime();
        testbed.run("scontrol", "update", "nodename=node2", "state=resume").orThrow();
        testbed.awaitJobState(workload.jobId, "RUNNING", Duration.ofSeconds(60));
        Map<String, String> job = testbed.job(workload.jobId);
        assertEquals("node2", job.get("NodeList"), () -> "job: " + job);
        workload.awaitSequence(parkedAt + 10);
        System.out.printf("parked job %d: node2 freed -> counting again after %d ms%n", workload.jobId,
                (System.nanoTime() - freed) / 1_000_000);
        workload.assertSequenceIsUnbroken();
        Testbed.await(() -> !Files.exists(checkpoint), Duration.ofSeconds(10),
                () -> "the checkpoint was not removed once the job ran again: " + checkpoint);

        workload.stop(0);
        testbed.awaitJobState(workload.jobId, "COMPLETED", Duration.ofSeconds(30));
        assertEquals("0:0", testbed.job(workload.jobId).get("ExitCode"));
        workload.assertSequenceIsUnbroken();
        String output = workload.slurmOutput();
        assertTrue(output.contains("restart 0, on node1") && output.contains("restart 1, on node2"),
                () -> "the job's output was not continued:\n" + output);
        MigrationEngineTest.assertNothingLeftOn(testbed, "node2");
    }

    @Test
    void aJobThatCannotMoveBeforeTheDeadlineIsParkedAndRestartsFromItsCheckpointElsewhere(Testbed testbed) throws Exception {
        this.testbed = testbed;
        testbed.restartAgent("node1");
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", MEMORY_MIB);
        workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(5);

        // 256 MiB over the planner's 250 MB/s plus its 2 s overhead cannot move live within 1 s.
        testbed.lifeboat("predict", "node1", "--within", "1s", "--confidence", "1.0", "--reason", "imminent",
                "--url", testbed.agentUrl("node1", ""), "--token-file", testbed.predictionToken("node1").toString()).orThrow();
        Testbed.await(() -> SlurmMigrationTest.isRunningAwayFrom(testbed, workload.jobId, "node1"), Duration.ofSeconds(60),
                () -> "job " + workload.jobId + " did not restart elsewhere: " + testbed.job(workload.jobId) + "\n"
                        + read(testbed.agentLog("node1")));
        assertTrue(testbed.job(workload.jobId).getOrDefault("AdminComment", "").startsWith("lifeboat-parked:node1@"),
                () -> "the job moved, but not through a parked checkpoint: " + testbed.job(workload.jobId));
        int resumedAt = workload.sequence().size();
        workload.awaitSequence(resumedAt + 10);
        workload.assertSequenceIsUnbroken();
        String agentLog = read(testbed.agentLog("node1"));
        assertTrue(agentLog.contains("is not expected to move before"), () -> "the plan did not find the job late:\n" + agentLog);

        workload.stop(0);
        testbed.awaitJobState(workload.jobId, "COMPLETED", Duration.ofSeconds(30));
        assertEquals("0:0", testbed.job(workload.jobId).get("ExitCode"));
        workload.assertSequenceIsUnbroken();
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (java.io.IOException e) {
            return "";
        }
    }
}
