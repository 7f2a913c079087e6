package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
 * Faults injected into real migrations on the real cluster. Whatever breaks, the job runs exactly
 * once afterwards: its in-memory counter goes on with no reset and no number twice (a second
 * writer would repeat numbers), on node1 where it was, and Slurm still has it RUNNING there.
 */
@TestbedIntegration
final class FaultInjectionTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theSourceAgentKilledDuringDumpGivesTheJobBackAtOnce(Testbed testbed) throws Exception {
        // 128 MiB at 100 Mbit/s keeps DUMP open for about ten seconds.
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", 128);
        long init = workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(5);
        throttle(testbed, "node1");
        try {
            killTheSourceAgentDuringTheDump(testbed, workload);
        } finally {
            unthrottle(testbed, "node1");
            testbed.run(Duration.ofMinutes(2), List.of(testbed.clusterScript().toString(), "up")).orThrow();
        }
        assertRunsOnceOnNode1(testbed, workload, init);
        // The restarted agent found the interrupted migration, had node2 discard its part, and removed its own.
        MigrationEngineTest.assertNothingLeftOn(testbed, "node1");
        MigrationEngineTest.assertNothingLeftOn(testbed, "node2");
    }

    @Test
    void theSourceAgentKilledDuringASharedFsDumpGivesTheJobBackAndItsRestartRemovesTheSharedImages(Testbed testbed)
            throws Exception {
        String cluster = testbed.clusterScript().toString();
        // A file server behind 100 Mbit/s keeps a 128 MiB shared-fs DUMP open for about ten seconds.
        testbed.run(Duration.ofMinutes(1), List.of(cluster, "storage", "network", "100mbit")).orThrow();
        try {
            MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", 128);
            long init = workload.awaitContainer(testbed, "node1");
            workload.awaitSequence(5);
            killTheSourceAgentDuringTheDump(testbed, workload, "--mode", "shared-fs");
            testbed.run(Duration.ofMinutes(2), List.of(cluster, "up")).orThrow();
            assertRunsOnceOnNode1(testbed, workload, init);
            // The restarted agent found the migration by its control directory on node1's disk, had node2 discard
            // its part, and deleted the images it had begun writing to the file server.
            MigrationEngineTest.assertNothingLeftOn(testbed, "node1");
            MigrationEngineTest.assertNothingLeftOn(testbed, "node2");
            MigrationEngineTest.assertNoMigrationImagesOnTheFileServer(testbed);
            workload.stop();
        } finally {
            testbed.run(Duration.ofMinutes(1), List.of(cluster, "storage", "local")).orThrow();
        }
    }

    /** SIGKILLs node1's agent a second into the job's DUMP; the job runs on, as no one is left to decide. */
    private static void killTheSourceAgentDuringTheDump(Testbed testbed, MigrationEngineTest.Workload workload,
                                                        String... options) throws Exception {
        CompletableFuture<CommandResult> migration = migrateToNode2Until(testbed, workload, "DUMP started", options);
        Thread.sleep(1000);
        testbed.killAgent("node1");
        CommandResult cut = migration.join();
        assertEquals(1, cut.exitCode(), () -> "the client should see its agent go: " + cut.describe());
        // CRIU's post-dump script (or CRIU's own failed dump) resumes the tree.
        int before = workload.sequence().size();
        workload.awaitSequence(before + 5);
    }

    @Test
    void thePageServerKilledDuringDumpRollsBack(Testbed testbed) throws Exception {
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", 128);
        long init = workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(5);
        throttle(testbed, "node1");
        JsonNode report;
        try {
            CompletableFuture<CommandResult> migration = migrateToNode2Until(testbed, workload, "DUMP started");
            Thread.sleep(1000);
            testbed.runOnNode("node2", "pkill", "-KILL", "-f", "criu page-server").orThrow();
            CommandResult result = migration.join();
            assertEquals(5, result.exitCode(), result::describe);
            report = JSON.readTree(result.stdout());
        } finally {
            unthrottle(testbed, "node1");
        }
        assertEquals("rolled-back", report.path("outcome").asText(), report::toString);
        assertEquals("dump-failed", report.path("reason").asText(), report::toString);
        System.out.println("page server killed: " + report.path("cause").asText());
        assertRunsOnceOnNode1(testbed, workload, init);
        MigrationEngineTest.assertNothingLeftOn(testbed, "node1");
        MigrationEngineTest.assertNothingLeftOn(testbed, "node2");
    }

    @Test
    void slurmctldStoppedAtTheRequeueRollsBack(Testbed testbed) throws Exception {
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", 256);
        long init = workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(5);
        JsonNode report;
        // The controller is stopped (SIGTERM: it saves its state and exits) while the throttled DUMP runs, so it is
        // certainly gone when the requeue comes. Not SIGKILL a few seconds after the job started: Slurm itself then
        // forgets the job's start, and on its return drains node1 for a "duplicate" job and requeues that job itself,
        // with or without Lifeboat.
        throttle(testbed, "node1");
        try {
            CompletableFuture<CommandResult> migration = migrateToNode2Until(testbed, workload, "DUMP started");
            String controller = slurmctldPid(testbed);
            testbed.run("kill", "-TERM", controller).orThrow();
            Testbed.await(() -> !Files.exists(Path.of("/proc", controller)), Duration.ofSeconds(20),
                    () -> "slurmctld " + controller + " did not stop");
            CommandResult result = migration.join();
            assertEquals(5, result.exitCode(), result::describe);
            report = JSON.readTree(result.stdout());
        } finally {
            unthrottle(testbed, "node1");
            testbed.run(Duration.ofMinutes(2), List.of(testbed.clusterScript().toString(), "up")).orThrow();
        }
        assertEquals("rolled-back", report.path("outcome").asText(), report::toString);
        assertTrue(report.path("phase-millis").has("requeue"), () -> "not rolled back at the requeue: " + report);
        assertTrue(report.path("cause").asText().contains("scontrol"), () -> "the cause does not name Slurm: " + report);
        assertRunsOnceOnNode1(testbed, workload, init);
        MigrationEngineTest.assertNothingLeftOn(testbed, "node2");
    }

    @Test
    void theTargetNodeLostDuringRestoreRollsBack(Testbed testbed) throws Exception {
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", 256);
        long init = workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(5);
        JsonNode report;
        try {
            CompletableFuture<CommandResult> migration = migrateToNode2Until(testbed, workload, "RESTORE started");
            // Every process of node2 dies: its agent, slurmd, the CRIU restore, whatever it restored. The sweep repeats
            // until none is left, because a restore forks tasks between one listing of the node's pids and the kill.
            String node2 = Testbed.networkNamespace("node2");
            Testbed.await(() -> {
                testbed.run("sh", "-c", "ip netns pids " + node2 + " | xargs -r kill -KILL");
                return testbed.run("ip", "netns", "pids", node2).stdout().isBlank();
            }, Duration.ofSeconds(20), () -> "processes survive on node2: " + testbed.run("ip", "netns", "pids", node2).stdout());
            CommandResult result = migration.join();
            assertEquals(5, result.exitCode(), result::describe);
            report = JSON.readTree(result.stdout());
        } finally {
            testbed.run(Duration.ofMinutes(2), List.of(testbed.clusterScript().toString(), "up")).orThrow();
        }
        assertEquals("rolled-back", report.path("outcome").asText(), report::toString);
        System.out.println("target lost during restore: " + report.path("cause").asText());
        assertRunsOnceOnNode1(testbed, workload, init);
    }

    @Test
    void theSourceNodeLostDuringRestoreLeavesTheJobToItsCopyOnTheTarget(Testbed testbed) throws Exception {
        // 512 MiB: node2's restore takes about a second, time enough to kill node1 before it hears the restore's end.
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", 512);
        workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(5);
        long targetLog = Files.size(testbed.agentLog("node2"));
        double takenOverBefore = takenOver(testbed, "node2");
        long lost;
        int frozenAt;
        try {
            CompletableFuture<CommandResult> migration = CompletableFuture.supplyAsync(() -> testbed.lifeboat("migrate",
                    Long.toString(workload.jobId), "--to", "node2", "--json", "--socket", testbed.agentSocket("node1").toString()));
            awaitLog(testbed, "node2", targetLog, "restoring job " + workload.jobId);
            // Every process of node1 dies: its agent (waiting for the restore), slurmd, the frozen job. The images
            // are all on node2, which is restoring them: the copy there is the job's only one now.
            String node1 = Testbed.networkNamespace("node1");
            Testbed.await(() -> {
                testbed.run("sh", "-c", "ip netns pids " + node1 + " | xargs -r kill -KILL");
                return testbed.run("ip", "netns", "pids", node1).stdout().isBlank();
            }, Duration.ofSeconds(20), () -> "processes survive on node1: " + testbed.run("ip", "netns", "pids", node1).stdout());
            lost = System.nanoTime();
            frozenAt = workload.sequence().size();
            assertTrue(migration.join().exitCode() != 0, "the client of a killed agent reports success");
            String restored = logSince(testbed, "node2", targetLog);
            assertTrue(!restored.contains("committed"), () -> "the migration finished before node1 was lost:\n" + restored);
            // Slurm notices node1 gone (SlurmdTimeout, 30 s here) and requeues the job; node2 then starts it from its copy.
            Testbed.await(() -> "RUNNING".equals(testbed.jobState(workload.jobId))
                            && "node2".equals(testbed.job(workload.jobId).get("NodeList")), Duration.ofSeconds(150),
                    () -> "job " + workload.jobId + " does not run on node2: " + testbed.job(workload.jobId) + "\n"
                            + logSince(testbed, "node2", targetLog));
            workload.awaitSequence(frozenAt + 10);
            System.out.printf("source node lost during restore: the job counts again on node2 %d s after node1 died%n",
                    (System.nanoTime() - lost) / 1_000_000_000);
        } finally {
            testbed.run(Duration.ofMinutes(2), List.of(testbed.clusterScript().toString(), "up")).orThrow();
        }
        workload.assertSequenceIsUnbroken();
        assertEquals("1", testbed.job(workload.jobId).get("Restarts"), "Slurm's requeue after losing node1");
        String taken = logSince(testbed, "node2", targetLog);
        assertTrue(taken.contains("requeued job " + workload.jobId + " (node lost)") && taken.contains("resumed from the copy"),
                () -> "node2's agent did not say it took the job over:\n" + taken);
        assertEquals(takenOverBefore + 1, takenOver(testbed, "node2"), "lifeboat_migrations_taken_over_total on node2");
        System.out.println("source node lost during restore: " + taken.lines()
                .filter(line -> line.contains("(node lost)")).findFirst().orElse(""));
        // node1's agent, back, finds its interrupted migration and is told node2 has it; nothing is left on either.
        MigrationEngineTest.assertNothingLeftOn(testbed, "node1");
        MigrationEngineTest.assertNothingLeftOn(testbed, "node2");
        Testbed.await(() -> logSince(testbed, "node1", 0).contains("its target runs the job now"), Duration.ofSeconds(10),
                () -> "node1's agent, back, did not learn that node2 has the job:\n" + logSince(testbed, "node1", 0));

        workload.stop(0);
        testbed.awaitJobState(workload.jobId, "COMPLETED", Duration.ofSeconds(30));
        assertEquals("0:0", testbed.job(workload.jobId).get("ExitCode"));
        workload.assertSequenceIsUnbroken();
    }

    @Test
    void aLinkCutDuringTheTransferRollsBackOnceThePagesStop(Testbed testbed) throws Exception {
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", 256);
        long init = workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(5);
        JsonNode report;
        long cut;
        throttle(testbed, "node1");
        try {
            CompletableFuture<CommandResult> migration = migrateToNode2Until(testbed, workload, "DUMP started");
            Thread.sleep(2000);
            // node2's end of its link (the bridge side) goes down mid-transfer, as a pulled cable would.
            testbed.run("ip", "link", "set", "lbv-node2", "down").orThrow();
            cut = System.nanoTime();
            // The job counts again once the stalled transfer is given up, before the unreachable target is told.
            int frozenAt = workload.sequence().size();
            Testbed.await(() -> workload.sequence().size() > frozenAt + 2, Duration.ofSeconds(30),
                    () -> "the job stays frozen after the link was cut");
            System.out.printf("link cut during the dump: the job counts again %d ms after the cut%n",
                    (System.nanoTime() - cut) / 1_000_000);
            CommandResult result = migration.join();
            long reported = (System.nanoTime() - cut) / 1_000_000;
            System.out.printf("link cut during the dump: the report came %d ms after the cut%n", reported);
            // Telling the unreachable target is given up after PeerClient's connect limit, not the kernel's SYN retries.
            assertTrue(reported < 45_000, "the rollback waited " + reported + " ms for the unreachable target");
            report = JSON.readTree(result.stdout());
        } finally {
            testbed.run("ip", "link", "set", "lbv-node2", "up");
            unthrottle(testbed, "node1");
        }
        assertEquals("rolled-back", report.path("outcome").asText(), report::toString);
        assertTrue(report.path("cause").asText().contains("no page reached the target"), report::toString);
        assertRunsOnceOnNode1(testbed, workload, init);
        MigrationEngineTest.assertNothingLeftOn(testbed, "node1");
        // node2 never heard the abort: it keeps the half-received migration until its agent restarts.
        testbed.restartAgent("node2");
        MigrationEngineTest.assertNothingLeftOn(testbed, "node2");
    }

    @Test
    void theTargetAgentKilledAfterItConfirmedResumesTheJobWhenItComesBack(Testbed testbed) throws Exception {
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", 64);
        workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(5);
        String controller = slurmctldPid(testbed);
        JsonNode report;
        // The window between the target's confirmation and the source's resume is milliseconds wide: the
        // controller is frozen (SIGSTOP) during the restore, so the source's requeue waits there for it.
        throttle(testbed, "node1");
        try {
            long sourceLog = Files.size(testbed.agentLog("node1"));
            CompletableFuture<CommandResult> migration = migrateToNode2Until(testbed, workload, "RESTORE started");
            testbed.run("kill", "-STOP", controller).orThrow();
            try {
                awaitLog(testbed, "node1", sourceLog, "CONFIRM took");
                testbed.killAgent("node2");
            } finally {
                testbed.run("kill", "-CONT", controller).orThrow();
            }
            CommandResult result = migration.join();
            report = JSON.readTree(result.stdout());
        } finally {
            unthrottle(testbed, "node1");
        }
        // The source passed its point of no return (the requeue), could not reach the target's agent to resume
        // the job there, and killed its own copy: the stopped copy on node2 is the job's only one.
        assertEquals("migrated-cleanup-failed", report.path("outcome").asText(), report::toString);
        assertTrue(report.path("cause").asText().contains("resume on node2"), report::toString);
        testbed.restartAgent("node2");
        Testbed.await(() -> "RUNNING".equals(testbed.jobState(workload.jobId))
                        && "node2".equals(testbed.job(workload.jobId).get("NodeList")), Duration.ofSeconds(60),
                () -> "job " + workload.jobId + " does not run on node2: " + testbed.job(workload.jobId));
        int before = workload.sequence().size();
        workload.awaitSequence(before + 10);
        workload.assertSequenceIsUnbroken();
        assertEquals("1", testbed.job(workload.jobId).get("Restarts"));
        // The restarted agent writes a new log.
        String recovered = logSince(testbed, "node2", 0);
        assertTrue(recovered.contains("was requeued by its source"), () -> "node2's agent did not resume the copy:\n" + recovered);
        System.out.println("target agent killed after CONFIRM: " + recovered.lines()
                .filter(line -> line.contains("was requeued by its source")).findFirst().orElse(""));

        workload.stop(0);
        testbed.awaitJobState(workload.jobId, "COMPLETED", Duration.ofSeconds(30));
        assertEquals("0:0", testbed.job(workload.jobId).get("ExitCode"));
        workload.assertSequenceIsUnbroken();
    }

    private static void assertRunsOnceOnNode1(Testbed testbed, MigrationEngineTest.Workload workload, long init) {
        int before = workload.sequence().size();
        workload.awaitSequence(before + 10);
        workload.assertSequenceIsUnbroken();
        assertTrue(Files.exists(Path.of("/proc", Long.toString(init))), "the container on node1 is gone");
        Testbed.await(() -> "RUNNING".equals(testbed.jobState(workload.jobId)), Duration.ofSeconds(30),
                () -> "Slurm lost the job: " + testbed.job(workload.jobId));
        assertEquals("node1", testbed.job(workload.jobId).get("NodeList"));
        assertEquals("0", testbed.job(workload.jobId).get("Restarts"));
    }

    /** Starts `lifeboat migrate JOB --to node2 [options]` and returns once node1's agent logs the text (a phase starting). */
    private static CompletableFuture<CommandResult> migrateToNode2Until(Testbed testbed, MigrationEngineTest.Workload workload,
                                                                        String logText, String... options)
            throws IOException, InterruptedException {
        long logStart = Files.size(testbed.agentLog("node1"));
        List<String> arguments = new java.util.ArrayList<>(List.of("migrate", Long.toString(workload.jobId), "--to", "node2",
                "--json", "--socket", testbed.agentSocket("node1").toString()));
        arguments.addAll(List.of(options));
        CompletableFuture<CommandResult> migration = CompletableFuture.supplyAsync(
                () -> testbed.lifeboat(arguments.toArray(String[]::new)));
        awaitLog(testbed, "node1", logStart, logText);
        return migration;
    }

    static void throttle(Testbed testbed, String node) {
        testbed.runOnNode(node, "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate", "100mbit", "burst", "256kb",
                "latency", "100ms").orThrow();
    }

    static void unthrottle(Testbed testbed, String node) {
        testbed.runOnNode(node, "tc", "qdisc", "delete", "dev", "eth0", "root");
    }

    /** Returns once the node's agent has logged the text, looking every 10 ms: a fault must land within the phase it starts. */
    static void awaitLog(Testbed testbed, String node, long offset, String text) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (!logSince(testbed, node, offset).contains(text)) {
            assertTrue(System.nanoTime() < deadline, () -> "the migration never logged '" + text + "':\n" + logSince(testbed, node, offset));
            Thread.sleep(10);
        }
    }

    private static String logSince(Testbed testbed, String node, long offset) {
        try {
            byte[] log = Files.readAllBytes(testbed.agentLog(node));
            return new String(log, (int) Math.min(offset, log.length), (int) Math.max(0, log.length - offset));
        } catch (IOException e) {
            return "";
        }
    }

    private static double takenOver(Testbed testbed, String node) {
        String scrape = testbed.agentMetrics(node);
        return scrape.lines().filter(line -> line.startsWith("lifeboat_migrations_taken_over_total "))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.indexOf(' ') + 1))).findFirst()
                .orElseThrow(() -> new AssertionError(node + "'s agent exports no lifeboat_migrations_taken_over_total"));
    }

    private static String slurmctldPid(Testbed testbed) throws IOException {
        return Files.readString(testbed.runDirectory().resolve("slurm/slurmctld.pid")).strip();
    }
}
