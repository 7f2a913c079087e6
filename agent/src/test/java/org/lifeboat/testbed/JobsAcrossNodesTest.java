package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;


import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * A job on two nodes, each node's part in its own container with its own address
 * (--migratable=net, lifeboat-run --network=job), the two parts talking over one TCP connection
 * without a pause. Draining one node moves its part to a node Slurm chooses; the other part is
 * checkpointed and restored in place around the requeue; the connection survives, no exchange is
 * lost or repeated, the job keeps its id and Slurm's node list names the new node.
 */
@TestbedIntegration
final class JobsAcrossNodesTest {

    /**
     * Part 0 listens on its address and writes it where the others find it; each other part
     * connects, sends 1, 2, 3, ... and part 0 answers each number back. Each client part logs its
     * answered numbers to partN.log, part 0 the connections it accepted; a gap, a repeat, a wrong
     * answer or a closed connection ends the part with an error in its log.
     */
    private static final String PING_PONG = String.join("\n",
            "import os, socket, sys, threading, time",
            "part = int(os.environ['SLURM_NODEID'])",
            "parts = int(os.environ['SLURM_JOB_NUM_NODES'])",
            "# Each part its own log: the parts' common --stdout has no order between two nodes' writes.",
            "log = open('part%d.log' % part, 'a', buffering=1)",
            "# Memory of part 0's to move, MiB, so that a transfer lasts long enough for a fault to land in it.",
            "ballast = bytearray(os.urandom(int(sys.argv[1]) << 20)) if part == 0 else None",
            "probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
            "probe.connect(('10.241.0.254', 9))",
            "me = probe.getsockname()[0]",
            "def serve(connection, peer):",
            "    expected = 1",
            "    for line in connection.makefile():",
            "        number = int(line)",
            "        if number != expected:",
            "            print('part0: %s sent %d, expected %d' % (peer, number, expected), file=log)",
            "            os._exit(1)",
            "        connection.sendall(b'%d\\n' % number)",
            "        expected += 1",
            "    print('part0: %s closed' % peer, file=log)",
            "    os._exit(1)",
            "if part == 0:",
            "    listener = socket.socket()",
            "    listener.bind((me, 7200))",
            "    listener.listen(parts)",
            "    open('address.tmp', 'w').write(me)",
            "    os.rename('address.tmp', 'address')",
            "    servers = []",
            "    for _ in range(parts - 1):",
            "        connection, peer = listener.accept()",
            "        print('part0 accepted %s' % peer[0], file=log)",
            "        servers.append(threading.Thread(target=serve, args=(connection, peer[0])))",
            "        servers[-1].start()",
            "    for server in servers:",
            "        server.join()",
            "else:",
            "    while not os.path.exists('address'):",
            "        time.sleep(0.05)",
            "    connection = socket.create_connection((open('address').read(), 7200))",
            "    replies = connection.makefile()",
            "    number = 0",
            "    while True:",
            "        number += 1",
            "        connection.sendall(b'%d\\n' % number)",
            "        answer = int(replies.readline())",
            "        if answer != number:",
            "            sys.exit('part%d: sent %d, got %d back' % (part, number, answer))",
            "        print('part%d %d' % (part, number), file=log)",
            "        time.sleep(0.05)",
            "");

    private static final ObjectMapper JSON = new ObjectMapper();

    private Testbed testbed;

    @Test
    void drainingOneNodeMovesItsPartAndTheConnectionBetweenThePartsSurvives(Testbed testbed) throws Exception {
        this.testbed = testbed;
        Path directory = jobDirectory();
        long jobId = startTalking(directory, 0);
        CommandResult status = testbed.lifeboat("status", "--job", Long.toString(jobId), "--socket",
                testbed.agentSocket("node1").toString());
        assertTrue(status.stdout().contains("job " + jobId + ": movable"), status::describe);

        long drained = System.nanoTime();
        testbed.run("scontrol", "update", "nodename=node1", "state=drain", "reason=lifeboat-across-test").orThrow();
        Testbed.await(() -> runsAgainOn(jobId, "node[2-3]"), Duration.ofSeconds(120),
                () -> "job " + jobId + "'s part did not move off node1: " + testbed.job(jobId) + "\n"
                        + UnmovableJobsTest.read(directory.resolve("pingpong.err")) + UnmovableJobsTest.read(testbed.agentLog("node1")));
        int atMove = exchanges(directory);
        System.out.printf("job on node1,node2: drain of node1 -> RUNNING on %s after %d ms, at exchange %d%n",
                testbed.job(jobId).get("NodeList"), (System.nanoTime() - drained) / 1_000_000, atMove);
        awaitExchanges(directory, atMove + 40, jobId);

        assertEquals("node[2-3]", testbed.job(jobId).get("NodeList"));
        assertEquals("1", testbed.job(jobId).get("Restarts"));
        assertUnbroken(directory, 2);
        MigrationEngineTest.assertNothingLeftOn(testbed, "node1");

        // The drained node can now be taken down: once Slurm sees it not responding ("drain*"), the job runs on.
        String node1 = Testbed.networkNamespace("node1");
        try {
            Testbed.await(() -> {
                testbed.run("sh", "-c", "ip netns pids " + node1 + " | xargs -r kill -KILL");
                return testbed.run("ip", "netns", "pids", node1).stdout().isBlank();
            }, Duration.ofSeconds(20), () -> "processes survive on node1");
            Testbed.await(() -> testbed.run("sinfo", "-h", "-n", "node1", "-o", "%t").stdout().contains("*"),
                    Duration.ofSeconds(90), () -> "Slurm never saw node1 stop responding");
            int atDown = exchanges(directory);
            awaitExchanges(directory, atDown + 20, jobId);
            assertEquals("RUNNING", testbed.job(jobId).get("JobState"));
        } finally {
            testbed.run(Duration.ofMinutes(2), List.of(testbed.clusterScript().toString(), "up")).orThrow();
        }
        assertUnbroken(directory, 2);

        testbed.run("scancel", Long.toString(jobId)).orThrow();
        testbed.awaitJobState(jobId, "CANCELLED", Duration.ofSeconds(60));
        Testbed.await(() -> !testbed.run("pgrep", "-f", directory.resolve("pingpong.py").toString()).succeeded(),
                Duration.ofSeconds(30), () -> "a part outlived scancel: "
                        + testbed.run("pgrep", "-af", directory.resolve("pingpong.py").toString()).stdout());
    }

    @Test
    void aJobOnThreeNodesMovesItsDrainedNodesPartToAFourth(Testbed testbed) throws Exception {
        this.testbed = testbed;
        Path directory = jobDirectory();
        long jobId = submit(directory, "node1,node2,node3", 0, "--partition=wide");
        awaitExchanges(directory, 20, jobId);

        long drained = System.nanoTime();
        testbed.run("scontrol", "update", "nodename=node1", "state=drain", "reason=lifeboat-across-test").orThrow();
        Testbed.await(() -> runsAgainOn(jobId, "node[2-4]"), Duration.ofSeconds(120),
                () -> "job " + jobId + "'s part did not move off node1: " + testbed.job(jobId) + "\n"
                        + UnmovableJobsTest.read(testbed.agentLog("node1")));
        int atMove = exchanges(directory);
        System.out.printf("job on node1,node2,node3: drain of node1 -> RUNNING on %s after %d ms, at exchange %d%n",
                testbed.job(jobId).get("NodeList"), (System.nanoTime() - drained) / 1_000_000, atMove);
        awaitExchanges(directory, atMove + 40, jobId);
        assertUnbroken(directory, 3);
        assertEquals("1", testbed.job(jobId).get("Restarts"));
        testbed.run("scancel", Long.toString(jobId)).orThrow();
        testbed.awaitJobState(jobId, "CANCELLED", Duration.ofSeconds(60));
        Testbed.await(() -> !testbed.run("pgrep", "-f", directory.resolve("pingpong.py").toString()).succeeded(),
                Duration.ofSeconds(30), () -> "a part outlived scancel");
    }

    @Test
    void theTargetAgentKilledDuringTheRestoreGivesEveryPartBackWhereItWas(Testbed testbed) throws Exception {
        this.testbed = testbed;
        Path directory = jobDirectory();
        long jobId = startTalking(directory, 0);
        JsonNode report;
        try {
            CompletableFuture<CommandResult> migration = migrateToNode3Until(jobId, "RESTORE started");
            testbed.killAgent("node3");
            CommandResult result = migration.join();
            assertEquals(5, result.exitCode(), result::describe);
            report = JSON.readTree(result.stdout());
        } finally {
            testbed.run(Duration.ofMinutes(2), List.of(testbed.clusterScript().toString(), "up")).orThrow();
        }
        assertEquals("rolled-back", report.path("outcome").asText(), report::toString);
        assertGoesOnWhereItWas(directory, jobId);
    }

    @Test
    void aLinkCutDuringTheTransferGivesEveryPartBackWhereItWas(Testbed testbed) throws Exception {
        this.testbed = testbed;
        Path directory = jobDirectory();
        // 128 MiB at 100 Mbit/s keeps the moving part's DUMP open for about ten seconds.
        long jobId = startTalking(directory, 128);
        JsonNode report;
        FaultInjectionTest.throttle(testbed, "node1");
        try {
            CompletableFuture<CommandResult> migration = migrateToNode3Until(jobId, "DUMP started");
            Thread.sleep(2000);
            // node3's end of its link goes down mid-transfer, as a pulled cable would.
            testbed.run("ip", "link", "set", "lbv-node3", "down").orThrow();
            report = JSON.readTree(migration.join().stdout());
        } finally {
            testbed.run("ip", "link", "set", "lbv-node3", "up");
            FaultInjectionTest.unthrottle(testbed, "node1");
        }
        assertEquals("rolled-back", report.path("outcome").asText(), report::toString);
        assertTrue(report.path("cause").asText().contains("no page reached the target"), report::toString);
        assertGoesOnWhereItWas(directory, jobId);
        // node3 never heard the abort: it keeps the half-received migration until its agent restarts.
        testbed.restartAgent("node3");
        MigrationEngineTest.assertNothingLeftOn(testbed, "node3");
    }

    /** After a move rolled back: both parts exchange on, unbroken, on node1 and node2, the job never requeued. */
    private void assertGoesOnWhereItWas(Path directory, long jobId) throws IOException {
        awaitExchanges(directory, exchanges(directory) + 40, jobId);
        assertUnbroken(directory, 2);
        Map<String, String> job = testbed.job(jobId);
        assertEquals("RUNNING", job.get("JobState"));
        assertEquals("node[1-2]", job.get("NodeList"));
        assertEquals("0", job.get("Restarts"));
        MigrationEngineTest.assertNothingLeftOn(testbed, "node1");
        MigrationEngineTest.assertNothingLeftOn(testbed, "node2");
        testbed.run("scancel", Long.toString(jobId)).orThrow();
        testbed.awaitJobState(jobId, "CANCELLED", Duration.ofSeconds(60));
    }

    /** The job on node1 and node2, its parts past their 20th exchange. */
    private long startTalking(Path directory, int ballastMib) {
        long jobId = submit(directory, "node1,node2", ballastMib);
        awaitExchanges(directory, 20, jobId);
        return jobId;
    }

    private Path jobDirectory() throws IOException {
        Path directory = Files.createTempDirectory(testbed.runDirectory().resolve("shared"), "across-");
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(directory.resolve("pingpong.py"), PING_PONG);
        testbed.run("chown", "-R", Testbed.JOB_USER + ":", directory.toString()).orThrow();
        return directory;
    }

    /** lbalice's job: one part per node, each in lifeboat-run with an address of its own. */
    private long submit(Path directory, String nodes, int ballastMib, String... options) {
        List<String> sbatch = new ArrayList<>(List.of("--migratable=net", "--nodes=" + nodes.split(",").length,
                "--ntasks-per-node=1", "--nodelist=" + nodes, "--output=" + directory.resolve("slurm.out"), "--chdir=" + directory));
        sbatch.addAll(List.of(options));
        sbatch.addAll(List.of("--wrap", "srun " + testbed.userBinary("lifeboat-run") + " --network=job --stdout "
                + directory.resolve("pingpong.out") + " --stderr " + directory.resolve("pingpong.err") + " -- /usr/bin/python3 -u "
                + directory.resolve("pingpong.py") + " " + ballastMib));
        long jobId = testbed.sbatchAs(Testbed.JOB_USER, sbatch.toArray(String[]::new));
        testbed.awaitJobState(jobId, "RUNNING", Duration.ofSeconds(30));
        return jobId;
    }

    /** `lifeboat migrate JOB --to node3` on node1, returned once node1's agent has logged the text. */
    private CompletableFuture<CommandResult> migrateToNode3Until(long jobId, String logText) throws Exception {
        long logStart = Files.size(testbed.agentLog("node1"));
        CompletableFuture<CommandResult> migration = CompletableFuture.supplyAsync(() -> testbed.lifeboat("migrate",
                Long.toString(jobId), "--to", "node3", "--json", "--socket", testbed.agentSocket("node1").toString()));
        FaultInjectionTest.awaitLog(testbed, "node1", logStart, logText);
        return migration;
    }

    /** Requeued after the move and running again, on these nodes. */
    private boolean runsAgainOn(long jobId, String nodeList) {
        Map<String, String> job = testbed.job(jobId);
        return "RUNNING".equals(job.get("JobState")) && !"0".equals(job.get("Restarts")) && nodeList.equals(job.get("NodeList"));
    }

    private void awaitExchanges(Path directory, int count, long jobId) {
        Testbed.await(() -> exchanges(directory) >= count, Duration.ofSeconds(60), () -> "job " + jobId + " never reached exchange "
                + count + ": " + testbed.job(jobId) + "\n" + UnmovableJobsTest.read(directory.resolve("pingpong.err"))
                + UnmovableJobsTest.read(directory.resolve("slurm.out")));
    }

    /** The exchanges part 1 has seen answered. */
    private static int exchanges(Path directory) {
        return (int) UnmovableJobsTest.read(directory.resolve("part1.log")).lines().filter(line -> line.startsWith("part1 ")).count();
    }

    /** Every client part saw 1, 2, 3, ... answered without a gap or a repeat, and part 0 saw no error. */
    private static void assertUnbroken(Path directory, int parts) throws IOException {
        for (int part = 1; part < parts; part++) {
            String prefix = "part" + part + " ";
            List<Long> numbers = Files.readString(directory.resolve("part" + part + ".log")).lines()
                    .filter(line -> line.startsWith(prefix)).map(line -> Long.parseLong(line.substring(prefix.length()).strip())).toList();
            for (int i = 0; i < numbers.size(); i++) {
                assertEquals(i + 1L, numbers.get(i), prefix + "broke at " + (i + 1) + ": " + numbers);
            }
        }
        String server = Files.readString(directory.resolve("part0.log"));
        assertEquals(parts - 1, server.lines().filter(line -> line.startsWith("part0 accepted")).count(),
                () -> "part 0 saw a reconnect or an error:\n" + server);
        assertFalse(server.contains("part0:"), () -> server);
        assertFalse(UnmovableJobsTest.read(directory.resolve("pingpong.err")).contains("part"),
                () -> UnmovableJobsTest.read(directory.resolve("pingpong.err")));
    }
}
