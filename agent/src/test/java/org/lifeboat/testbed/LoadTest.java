package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.socket.AgentClient;

/**
 * Load on the real testbed: 500 registrations at once on one node's agent from a client of the protocol, the same
 * from a real 500-task job array through the SPANK plugin, and 20 migratable
 * jobs evacuated from one draining node with the agent's bounded concurrency: all land, none is
 * lost, every one's sequence unbroken. The figures are printed.
 */
@TestbedIntegration
final class LoadTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int REGISTRATIONS = 500;
    private static final int JOBS = 20;
    private static final int ARRAY_TASKS = 500;
    // Job ids far beyond the testbed's: the registrations are the protocol's, not real jobs'.
    private static final long FIRST_JOB = 900_000;

    @Test
    void fiveHundredRegistrationsAtOnceAreEveryOneAnsweredAndKept(Testbed testbed) throws Exception {
        // What slurmstepd sends for each task of a 500-task job array on one node, from 50 clients at once.
        AgentClient client = new AgentClient(testbed.agentSocket("node3"));
        ExecutorService clients = Executors.newFixedThreadPool(50);
        long started = System.nanoTime();
        List<Future<JsonNode>> replies = new ArrayList<>();
        try {
            for (int i = 0; i < REGISTRATIONS; i++) {
                ObjectNode request = client.newRequest("step-start");
                request.put("job", FIRST_JOB + i).put("step", "batch").put("uid", 0).put("gid", 0)
                        .put("restart-count", 0).put("tasks", 1);
                replies.add(clients.submit(() -> client.send(request)));
            }
            for (Future<JsonNode> reply : replies) {
                assertEquals("ok", reply.get(60, TimeUnit.SECONDS).path("status").asText());
            }
            long millis = (System.nanoTime() - started) / 1_000_000;
            JsonNode jobs = JSON.readTree(testbed.lifeboat("status", "--json", "--socket",
                    testbed.agentSocket("node3").toString()).orThrow().stdout()).path("jobs");
            long registered = 0;
            for (JsonNode job : jobs) {
                if (job.path("job").asLong() >= FIRST_JOB) {
                    registered++;
                }
            }
            assertEquals(REGISTRATIONS, registered, "registrations kept in the registry");
            System.out.printf("%d registrations at once on node3's agent: all answered and kept in %d ms (%.0f/s)%n",
                    REGISTRATIONS, millis, REGISTRATIONS * 1000.0 / millis);
        } finally {
            for (int i = 0; i < REGISTRATIONS; i++) {
                ObjectNode end = client.newRequest("job-end");
                end.put("job", FIRST_JOB + i);
                clients.submit(() -> client.send(end));
            }
            clients.shutdown();
            assertTrue(clients.awaitTermination(60, TimeUnit.SECONDS));
        }
    }

    @Test
    void aRealFiveHundredTaskJobArrayIsRegisteredAllAtOnceOnOneNodeThroughTheSpankPlugin(Testbed testbed) throws Exception {
        // Real array tasks: slurmstepd loads the SPANK plugin, which registers each with node3's agent, and the epilog
        // ends it. The tasks wait for a file, so that all 500 are running (the load partition shares node3's cores)
        // and registered at the same time before any ends.
        Path release = Files.createTempDirectory("lifeboat-array").resolve("release");
        long logStart = Files.size(testbed.agentLog("node3"));
        long started = System.nanoTime();
        long array = testbed.sbatch("--migratable", "--partition=load", "--mem=8M", "--array=0-" + (ARRAY_TASKS - 1),
                "--output=/dev/null", "--wrap", "while [ ! -e " + release + " ]; do sleep 1; done");
        long allRegistered;
        try {
            Testbed.await(() -> registeredOn(testbed, "node3") == ARRAY_TASKS, Duration.ofSeconds(240),
                    () -> "not every task registered: " + registeredOn(testbed, "node3") + " of " + ARRAY_TASKS + "; "
                            + testbed.run("squeue", "-h", "-r", "-j", Long.toString(array), "-t", "R").stdout().lines().count()
                            + " running");
            allRegistered = (System.nanoTime() - started) / 1_000_000;
        } finally {
            Files.writeString(release, "");
        }
        Testbed.await(() -> testbed.run("squeue", "-h", "-j", Long.toString(array), "-o", "%i").stdout().isBlank(),
                Duration.ofSeconds(240), () -> "the array did not finish: " + testbed.run("squeue", "-j", Long.toString(array)).stdout());
        long millis = (System.nanoTime() - started) / 1_000_000;
        Files.delete(release);
        Files.delete(release.getParent());
        String log = Files.readString(testbed.agentLog("node3")).substring((int) logStart);
        long registrations = log.lines().filter(line -> line.contains("step batch registered")).count();
        long ended = log.lines().filter(line -> line.matches(".*job \\d+ ended on this node.*")).count();
        assertEquals(ARRAY_TASKS, registrations, "tasks registered by the SPANK plugin");
        assertEquals(ARRAY_TASKS, ended, "tasks ended by the epilog");
        Testbed.await(() -> registeredOn(testbed, "node3") == 0, Duration.ofSeconds(30), () -> "registrations left on node3");
        System.out.printf("a %d-task job array on node3: all registered at once %d ms after sbatch, all ended %d ms after it%n",
                ARRAY_TASKS, allRegistered, millis);
    }

    private static int registeredOn(Testbed testbed, String node) {
        try {
            return JSON.readTree(testbed.lifeboat("status", "--json", "--socket", testbed.agentSocket(node).toString())
                    .orThrow().stdout()).path("jobs").size();
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void twentyJobsEvacuatedFromADrainingNodeAllLandAndNoneIsLost(Testbed testbed) throws Exception {
        List<MigrationEngineTest.Workload> workloads = new ArrayList<>();
        for (int i = 0; i < JOBS; i++) {
            workloads.add(MigrationEngineTest.Workload.start(testbed, "node1", 16));
        }
        for (MigrationEngineTest.Workload workload : workloads) {
            workload.awaitContainer(testbed, "node1");
            workload.awaitSequence(3);
        }

        long drained = System.nanoTime();
        testbed.run("scontrol", "update", "nodename=node1", "state=drain", "reason=lifeboat-load-test").orThrow();
        Testbed.await(() -> workloads.stream().allMatch(w -> SlurmMigrationTest.isRunningAwayFrom(testbed, w.jobId, "node1")),
                Duration.ofSeconds(300), () -> "not every job left node1: " + states(testbed, workloads));
        long millis = (System.nanoTime() - drained) / 1_000_000;
        System.out.printf("%d jobs evacuated from node1 (concurrency 2): all RUNNING elsewhere %d ms after the drain%n",
                JOBS, millis);

        for (MigrationEngineTest.Workload workload : workloads) {
            Map<String, String> job = testbed.job(workload.jobId);
            assertEquals("1", job.get("Restarts"), () -> "job " + workload.jobId + ": " + job);
            int before = workload.sequence().size();
            workload.awaitSequence(before + 3);
            workload.assertSequenceIsUnbroken();
        }
        MigrationEngineTest.assertNothingLeftOn(testbed, "node1");
        for (MigrationEngineTest.Workload workload : workloads) {
            workload.stop(0);
        }
        for (MigrationEngineTest.Workload workload : workloads) {
            testbed.awaitJobState(workload.jobId, "COMPLETED", Duration.ofSeconds(60));
            workload.assertSequenceIsUnbroken();
        }
    }

    private static String states(Testbed testbed, List<MigrationEngineTest.Workload> workloads) {
        StringBuilder states = new StringBuilder();
        for (MigrationEngineTest.Workload workload : workloads) {
            Map<String, String> job = testbed.job(workload.jobId);
            states.append(workload.jobId).append('=').append(job.get("JobState")).append('@').append(job.get("NodeList")).append(' ');
        }
        return states.toString();
    }
}
