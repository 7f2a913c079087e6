package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.socket.AgentClient;
import org.lifeboat.agent.socket.AgentRefusedException;

/**
 * The --migratable SPANK plugin registers jobs with their node's agent through the real slurmstepd,
 * and the agent's registry survives a restart.
 */
@TestbedIntegration
final class MigratableRegistrationTest {

    @Test
    void aMigratableJobIsListedWithinOneSecondOfStartingAndAPlainJobNever(Testbed testbed) throws IOException {
        // The first use of the socket client loads its native library: not part of what is measured.
        assertTrue(jobIds(testbed, "node1").isEmpty(), "node1 has jobs registered before the test");
        long migratable = testbed.sbatch("--migratable", "--nodelist=node1", "--output=/dev/null", "--wrap", "sleep 4");
        long plain = testbed.sbatch("--nodelist=node1", "--output=/dev/null", "--wrap", "sleep 4");
        testbed.awaitJobState(migratable, "RUNNING", Duration.ofSeconds(30));
        long running = System.nanoTime();

        Testbed.await(() -> jobIds(testbed, "node1").contains(migratable), Duration.ofSeconds(1),
                () -> "job " + migratable + " not listed within 1 s of RUNNING: " + status(testbed, "node1"));
        System.out.printf("job %d listed %.0f ms after squeue showed it RUNNING%n", migratable,
                (System.nanoTime() - running) / 1e6);
        // The step registers before its task is forked; the task's pid follows right after.
        Testbed.await(() -> onlyJob(testbed, "node1", migratable).path("steps").path("batch").path("task-pids").has("0"),
                Duration.ofSeconds(1), () -> "no task pid for job " + migratable + ": " + status(testbed, "node1"));
        JsonNode job = onlyJob(testbed, "node1", migratable);
        assertEquals(0, job.path("uid").asInt());
        assertEquals(0, job.path("steps").path("batch").path("restart-count").asInt());
        long taskPid = job.path("steps").path("batch").path("task-pids").path("0").asLong();
        assertTrue(Files.exists(Path.of("/proc", Long.toString(taskPid))), () -> "task pid " + taskPid + " is not a live process");

        testbed.awaitJobState(plain, "RUNNING", Duration.ofSeconds(30));
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!"COMPLETED".equals(testbed.jobState(plain)) && System.nanoTime() < deadline) {
            assertFalse(jobIds(testbed, "node1").contains(plain), "the plain job " + plain + " was registered");
        }
        testbed.awaitJobState(migratable, "COMPLETED", Duration.ofSeconds(30));
        Testbed.await(() -> jobIds(testbed, "node1").isEmpty(), Duration.ofSeconds(10),
                () -> "ended jobs still listed: " + status(testbed, "node1"));
    }

    @Test
    void aJobRegisteredBeforeTheAgentRestartsIsStillListedAfterIt(Testbed testbed) throws IOException {
        long jobId = testbed.sbatch("--migratable", "--nodelist=node2", "--output=/dev/null", "--wrap", "sleep 300");
        testbed.awaitJobState(jobId, "RUNNING", Duration.ofSeconds(30));
        Testbed.await(() -> jobIds(testbed, "node2").contains(jobId), Duration.ofSeconds(5),
                () -> "job " + jobId + " not registered: " + status(testbed, "node2"));
        JsonNode before = onlyJob(testbed, "node2", jobId);

        String agentPid = Files.readString(testbed.agentPidFile("node2")).strip();
        testbed.run("kill", "-KILL", agentPid).orThrow();
        Testbed.await(() -> !Files.exists(Path.of("/proc", agentPid)), Duration.ofSeconds(10),
                () -> "agent " + agentPid + " survived SIGKILL");
        testbed.run(Duration.ofMinutes(2), List.of(testbed.clusterScript().toString(), "up")).orThrow();
        assertFalse(agentPid.equals(Files.readString(testbed.agentPidFile("node2")).strip()), "agent was not restarted");

        assertEquals(before, onlyJob(testbed, "node2", jobId), "the registration changed across the restart");
        testbed.run("scancel", Long.toString(jobId)).orThrow();
        Testbed.await(() -> jobIds(testbed, "node2").isEmpty(), Duration.ofSeconds(30),
                () -> "cancelled job still listed: " + status(testbed, "node2"));
    }

    private static JsonNode onlyJob(Testbed testbed, String node, long jobId) {
        for (JsonNode job : status(testbed, node)) {
            if (job.path("job").asLong() == jobId) {
                return job;
            }
        }
        throw new AssertionError("job " + jobId + " not in " + status(testbed, node));
    }

    private static List<Long> jobIds(Testbed testbed, String node) {
        List<Long> ids = new ArrayList<>();
        status(testbed, node).forEach(job -> ids.add(job.path("job").asLong()));
        return ids;
    }

    /**
     * The node's registered jobs, asked in-process through the product's own client: a `lifeboat`
     * JVM per poll would take longer to start than the one second the registration is allowed.
     */
    private static JsonNode status(Testbed testbed, String node) {
        AgentClient client = new AgentClient(testbed.agentSocket(node));
        try {
            return client.send(client.newRequest("status")).path("jobs");
        } catch (IOException | AgentRefusedException e) {
            throw new AssertionError("status from " + node + "'s agent failed", e);
        }
    }
}
