package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Slurm end to end on the real cluster: a drain (or `lifeboat migrate` with no target) moves a
 * --migratable job to a node Slurm chooses; the same job id is requeued there and the restored
 * container carries on inside it: Slurm tracks it, scancel kills it, its exit code is the job's.
 */
@TestbedIntegration
final class SlurmMigrationTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MEMORY_MIB = 256;
    private static final Duration MOVE_TIMEOUT = Duration.ofSeconds(60);


    @Test
    void aDrainMovesTheJobWhichFinishesThereWithExitCode0AndEveryNumberOnce(Testbed testbed) throws Exception {
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", MEMORY_MIB);
        long sourceInit = workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(5);

        long drained = System.nanoTime();
        testbed.run("scontrol", "update", "nodename=node1", "state=drain", "reason=lifeboat-test-drain").orThrow();
        Testbed.await(() -> isRunningAwayFrom(testbed, workload.jobId, "node1"), MOVE_TIMEOUT,
                () -> "job " + workload.jobId + " did not move off the drained node1: " + testbed.job(workload.jobId)
                        + "\n" + tail(testbed.agentLog("node1")));
        System.out.printf("drain of node1 -> job %d RUNNING on %s: %d ms%n", workload.jobId,
                testbed.job(workload.jobId).get("NodeList"), (System.nanoTime() - drained) / 1_000_000);

        Map<String, String> job = testbed.job(workload.jobId);
        String target = job.get("NodeList");
        assertEquals("1", job.get("Restarts"), () -> "restart count: " + job);
        assertTrue(job.getOrDefault("AdminComment", "").startsWith("lifeboat-migrated:node1->" + target + "@"),
                () -> "no migration record: " + job);
        Testbed.await(() -> !Files.exists(Path.of("/proc", Long.toString(sourceInit))), Duration.ofSeconds(10),
                () -> "the frozen copy on node1 (pid " + sourceInit + ") survived the migration");
        MigrationEngineTest.assertNothingLeftOn(testbed, "node1");
        long restored = restoredInit(testbed, target, workload.jobId);
        Testbed.await(() -> testbed.run("scontrol", "listpids", Long.toString(workload.jobId), target).stdout()
                        .contains(restored + " "), Duration.ofSeconds(10),
                () -> "Slurm does not track the restored init " + restored + ": "
                        + testbed.run("scontrol", "listpids", Long.toString(workload.jobId), target).describe());

        int before = workload.sequence().size();
        workload.awaitSequence(before + 10);
        workload.stop(0);
        testbed.awaitJobState(workload.jobId, "COMPLETED", Duration.ofSeconds(30));
        assertEquals("0:0", testbed.job(workload.jobId).get("ExitCode"));
        workload.assertSequenceIsUnbroken();
        String output = workload.slurmOutput();
        assertTrue(output.contains("restart 0, on node1") && output.contains("restart 1, on " + target),
                () -> "the job's output was not continued across the move:\n" + output);
        MigrationEngineTest.assertNothingLeftOn(testbed, target);
    }

    @Test
    void scancelOfAMigratedJobKillsTheRestoredContainer(Testbed testbed) throws Exception {
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", MEMORY_MIB);
        workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(3);
        JsonNode report = migrateLettingSlurmChoose(testbed, workload.jobId);
        String target = report.path("to").asText();
        assertNotEquals("node1", target);
        testbed.awaitJobState(workload.jobId, "RUNNING", MOVE_TIMEOUT);
        long restored = restoredInit(testbed, target, workload.jobId);

        testbed.run("scancel", Long.toString(workload.jobId)).orThrow();
        Testbed.await(() -> !isAlive(restored), Duration.ofSeconds(30),
                () -> "the restored container (pid " + restored + ") outlived scancel");
        testbed.awaitJobState(workload.jobId, "CANCELLED", Duration.ofSeconds(30));
        int after = workload.sequence().size();
        Thread.sleep(500);
        assertEquals(after, workload.sequence().size(), "the workload still writes after scancel");
    }

    @Test
    void aWorkloadExiting3AfterTheMoveEndsTheJobWithExitCode3(Testbed testbed) throws Exception {
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", MEMORY_MIB);
        workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(3);
        migrateLettingSlurmChoose(testbed, workload.jobId);
        testbed.awaitJobState(workload.jobId, "RUNNING", MOVE_TIMEOUT);
        workload.awaitSequence(workload.sequence().size() + 3);

        workload.stop(3);
        testbed.awaitJobState(workload.jobId, "FAILED", Duration.ofSeconds(30));
        assertEquals("3:0", testbed.job(workload.jobId).get("ExitCode"));
        workload.assertSequenceIsUnbroken();
    }

    @Test
    void twoTriggersForOneJobMakeOneMigrationAndBothGetItsReport(Testbed testbed) throws Exception {
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", MEMORY_MIB);
        workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(3);
        List<CompletableFuture<CommandResult>> triggers = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            triggers.add(CompletableFuture.supplyAsync(() -> testbed.lifeboat("migrate", Long.toString(workload.jobId),
                    "--json", "--socket", testbed.agentSocket("node1").toString())));
        }
        List<String> migrations = new ArrayList<>();
        for (CompletableFuture<CommandResult> trigger : triggers) {
            CommandResult result = trigger.get();
            assertEquals(0, result.exitCode(), result::describe);
            migrations.add(JSON.readTree(result.stdout()).path("migration").asText());
        }
        assertEquals(migrations.get(0), migrations.get(1), "two migrations ran for one job");
        testbed.awaitJobState(workload.jobId, "RUNNING", MOVE_TIMEOUT);
        assertEquals("1", testbed.job(workload.jobId).get("Restarts"));
        workload.awaitSequence(workload.sequence().size() + 5);
        workload.assertSequenceIsUnbroken();
        workload.stop(0);
        testbed.awaitJobState(workload.jobId, "COMPLETED", Duration.ofSeconds(30));
    }

    private static JsonNode migrateLettingSlurmChoose(Testbed testbed, long jobId) throws Exception {
        CommandResult migrate = testbed.lifeboat("migrate", Long.toString(jobId), "--json", "--socket",
                testbed.agentSocket("node1").toString());
        assertEquals(0, migrate.exitCode(), migrate::describe);
        JsonNode report = JSON.readTree(migrate.stdout());
        assertEquals("migrated", report.path("outcome").asText(), migrate::describe);
        for (String phase : List.of("requeue", "resume", "place")) {
            assertTrue(report.path("phase-millis").has(phase), () -> "phase " + phase + " not timed: " + report);
        }
        return report;
    }

    static boolean isRunningAwayFrom(Testbed testbed, long jobId, String node) {
        Map<String, String> job = testbed.job(jobId);
        return "RUNNING".equals(job.get("JobState")) && !node.equals(job.get("NodeList"));
    }

    private static long restoredInit(Testbed testbed, String node, long jobId) throws Exception {
        JsonNode jobs = JSON.readTree(testbed.lifeboat("status", "--json", "--socket", testbed.agentSocket(node).toString())
                .orThrow().stdout()).path("jobs");
        for (JsonNode job : jobs) {
            if (job.path("job").asLong() == jobId && job.path("container").has("init-pid")) {
                return job.path("container").path("init-pid").asLong();
            }
        }
        throw new AssertionError("job " + jobId + " has no restored container on " + node + ": " + jobs);
    }

    static boolean isAlive(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return !stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (java.io.IOException e) {
            return "(no log " + log + ")";
        }
    }
}
