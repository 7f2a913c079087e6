package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Post-copy with real CRIU lazy pages: the job runs on the target as soon as everything but its
 * memory has crossed, and the memory follows. The README's promise for the time in between: a
 * failure of either agent or of the link loses the job, whose copy on the target is killed rather
 * than left to run on with pages of zeros where its memory did not arrive.
 */
@TestbedIntegration
final class PostCopyTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theJobRunsOnTheTargetAndEveryPageFollowsIt(Testbed testbed) throws Exception {
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", 256);
        long oldInit = workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(5);

        JsonNode report = migrate(testbed, workload, 0);
        assertEquals("migrated", report.path("outcome").asText(), report::toString);
        assertEquals("post-copy", report.path("mode").asText(), report::toString);
        for (String phase : List.of("prepare-target", "dump", "send-images", "restore", "confirm", "requeue", "resume",
                "fetch-pages", "cleanup")) {
            assertTrue(report.path("phase-millis").has(phase), () -> "phase " + phase + " not timed: " + report);
        }
        assertTrue(report.path("page-bytes").asLong() > 200L << 20, () -> "the memory did not cross the relay: " + report);
        System.out.printf("post-copy of 256 MiB: frozen %d ms, split %d ms, phases %s%n", report.path("downtime-millis").asLong(),
                report.path("split-millis").asLong(), report.path("phase-millis"));

        int before = workload.sequence().size();
        workload.awaitSequence(before + 10);
        workload.assertSequenceIsUnbroken();
        assertMemoryChecksOut(testbed, workload, "ok");
        Testbed.await(() -> !Files.exists(Path.of("/proc", Long.toString(oldInit))), Duration.ofSeconds(10),
                () -> "the stopped copy on node1 (pid " + oldInit + ") survived the migration");
        MigrationEngineTest.assertNothingLeftOn(testbed, "node1");
        assertNoLazyPagesProcessLeft(testbed);

        workload.stop();
        Testbed.await(() -> workload.exitStatus().equals("3"), Duration.ofSeconds(10),
                () -> "the restored workload did not report its exit status 3: '" + workload.exitStatus() + "'");
    }

    @Test
    void theTargetAgentKilledWhileTheMemoryCrossesLosesTheJobButNeverRunsItOnWithoutIt(Testbed testbed) throws Exception {
        // 512 MiB at 100 Mbit/s: the memory takes about 45 s to cross, most of it after the job runs on node2.
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", 512);
        workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(5);
        JsonNode report = duringTheLazyPhase(testbed, workload, () -> testbed.killAgent("node2"), () -> { });
        assertLost(testbed, workload, report);
    }

    @Test
    void theLinkCutWhileTheMemoryCrossesLosesTheJobButNeverRunsItOnWithoutIt(Testbed testbed) throws Exception {
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", 512);
        workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(5);
        // node2's end of its link goes down, as a pulled cable would: neither side hears the other end.
        JsonNode report = duringTheLazyPhase(testbed, workload,
                () -> testbed.run("ip", "link", "set", "lbv-node2", "down").orThrow(),
                () -> testbed.run("ip", "link", "set", "lbv-node2", "up"));
        assertLost(testbed, workload, report);
    }

    /**
     * Migrates post-copy over a 100 Mbit/s link and runs {@code fault} two seconds into FETCH_PAGES;
     * {@code repair} undoes it afterwards, before node2's agent is started afresh.
     */
    private static JsonNode duringTheLazyPhase(Testbed testbed, MigrationEngineTest.Workload workload, Runnable fault,
                                               Runnable repair) throws Exception {
        testbed.runOnNode("node1", "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate", "100mbit", "burst", "256kb",
                "latency", "100ms").orThrow();
        try {
            long logStart = Files.size(testbed.agentLog("node1"));
            CompletableFuture<JsonNode> migration = CompletableFuture.supplyAsync(() -> migrate(testbed, workload, 6));
            Testbed.await(() -> logSince(testbed, logStart).contains("FETCH_PAGES started"), Duration.ofSeconds(120),
                    () -> "the migration never reached FETCH_PAGES:\n" + logSince(testbed, logStart));
            Thread.sleep(2000);
            // The job runs on node2 now, its memory half there: a full check faults on pages still on node1.
            signalWorkload(testbed, workload);
            fault.run();
            return migration.join();
        } finally {
            repair.run();
            testbed.runOnNode("node1", "tc", "qdisc", "delete", "dev", "eth0", "root");
            // node2's agent is dead, or saw Slurm unreachable while its link was down: a fresh one either way.
            testbed.restartAgent("node2");
        }
    }

    private static void assertLost(Testbed testbed, MigrationEngineTest.Workload workload, JsonNode report) throws IOException {
        assertEquals("lost", report.path("outcome").asText(), report::toString);
        assertEquals("pages-lost", report.path("reason").asText(), report::toString);
        System.out.println("lost: " + report.path("cause").asText() + "; split " + report.path("split-millis").asLong() + " ms");
        // The copy on node2 was killed; nothing of the job runs anywhere, and Slurm sees it end.
        Testbed.await(() -> workloadPids(testbed, workload).isEmpty(), Duration.ofSeconds(30),
                () -> "the job's workload still runs: " + workloadPids(testbed, workload));
        Testbed.await(() -> !testbed.jobState(workload.jobId).equals("RUNNING"), Duration.ofSeconds(60),
                () -> "Slurm still has job " + workload.jobId + " RUNNING after its copy was killed");
        String output = read(workload.directory.resolve("out"));
        assertFalse(output.contains("CORRUPT"), () -> "the job ran on with memory that never arrived:\n" + output);
        assertNoLazyPagesProcessLeft(testbed);
    }

    private static JsonNode migrate(Testbed testbed, MigrationEngineTest.Workload workload, int expectedExitCode) {
        CommandResult migrate = testbed.lifeboat("migrate", Long.toString(workload.jobId), "--to", "node2", "--mode",
                "post-copy", "--json", "--socket", testbed.agentSocket("node1").toString());
        assertEquals(expectedExitCode, migrate.exitCode(), migrate::describe);
        try {
            return JSON.readTree(migrate.stdout());
        } catch (IOException e) {
            throw new AssertionError(migrate.describe(), e);
        }
    }

    /** Asks the workload to check all its memory (SIGUSR1) and waits for its verdict. */
    private static void assertMemoryChecksOut(Testbed testbed, MigrationEngineTest.Workload workload, String verdict) {
        long checks = countLines(workload, "workload: memory ");
        signalWorkload(testbed, workload);
        Testbed.await(() -> countLines(workload, "workload: memory ") > checks, Duration.ofSeconds(30),
                () -> "the workload did not check its memory: " + read(workload.directory.resolve("out")));
        String output = read(workload.directory.resolve("out"));
        assertTrue(output.contains("workload: memory " + verdict), output);
        assertFalse(output.contains("CORRUPT"), output);
    }

    private static void signalWorkload(Testbed testbed, MigrationEngineTest.Workload workload) {
        for (String pid : workloadPids(testbed, workload)) {
            testbed.run("kill", "-USR1", pid);
        }
    }

    /** The workload's own process (not its launcher), wherever it runs: the nodes share the host's PIDs. */
    private static List<String> workloadPids(Testbed testbed, MigrationEngineTest.Workload workload) {
        CommandResult found = testbed.run("pgrep", "-f", "^" + testbed.userBinary("lifeboat-workload") + " "
                + workload.directory.resolve("sequence"));
        return found.stdout().lines().filter(line -> !line.isBlank()).toList();
    }

    private static void assertNoLazyPagesProcessLeft(Testbed testbed) {
        Testbed.await(() -> testbed.run("pgrep", "-f", "lifeboat-lazy-guard|criu lazy-pages").stdout().isBlank(),
                Duration.ofSeconds(30), () -> "a lazy-pages daemon or its guard is left: "
                        + testbed.run("pgrep", "-af", "lifeboat-lazy-guard|criu lazy-pages").stdout());
    }

    private static long countLines(MigrationEngineTest.Workload workload, String prefix) {
        return read(workload.directory.resolve("out")).lines().filter(line -> line.startsWith(prefix)).count();
    }

    private static String logSince(Testbed testbed, long start) {
        try {
            byte[] log = Files.readAllBytes(testbed.agentLog("node1"));
            return new String(log, (int) Math.min(start, log.length), (int) Math.max(0, log.length - start));
        } catch (IOException e) {
            return "";
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }
}
