package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An Apptainer instance (the test double: a real SIF, loop-mounted squashfs, PID and mount
 * namespaces, the master and sinit layout) holding 256 MiB, started by a --migratable batch job
 * through {@code lifeboat-run --apptainer-instance}, moves from node1 to node2 in both transfer
 * modes: its sequence in a bind-mounted shared directory goes on with no reset, node1 keeps
 * nothing, and once the workload has ended and the instance is stopped (SIGTERM to its sinit,
 * as `apptainer instance stop` does) the job completes on node2 with exit code 0.
 */
@TestbedIntegration
final class ApptainerMigrationTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MEMORY_MIB = 256;

    @ParameterizedTest
    @ValueSource(strings = {"diskless", "shared-fs"})
    void anInstanceMovesToAnotherNodeAndItsSequenceCarriesOn(String mode, Testbed testbed) throws Exception {
        Path directory = Files.createTempDirectory(testbed.runDirectory().resolve("shared"), "apptainer-");
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.copy(testbed.repository().resolve("launcher/tests/lifeboat-workload-static"), directory.resolve("workload"),
                StandardCopyOption.COPY_ATTRIBUTES);
        Path startscript = directory.resolve("startscript");
        Files.writeString(startscript, "exec /mnt/workload /mnt/sequence /mnt/stop " + MEMORY_MIB + "\n");
        Path image = directory.resolve("job.sif");
        testbed.run(testbed.repository().resolve("testbed/apptainer/build-test-image.sh").toString(), image.toString(),
                startscript.toString()).orThrow();

        String apptainer = testbed.repository().resolve("testbed/apptainer/apptainer").toString();
        String script = "echo \"batch script started, restart ${SLURM_RESTART_COUNT:-0}, on $SLURMD_NODENAME\"; exec "
                + testbed.repository().resolve("launcher/lifeboat-run") + " --apptainer-instance job-$SLURM_JOB_ID -- "
                + apptainer + " instance start --bind " + directory + ":/mnt " + image + " job-$SLURM_JOB_ID";
        long jobId = testbed.sbatch("--migratable", "--nodelist=node1", "--open-mode=append",
                "--output=" + directory.resolve("slurm.out"), "--chdir=" + directory, "--wrap", script);
        testbed.awaitJobState(jobId, "RUNNING", Duration.ofSeconds(30));
        Testbed.await(() -> sequence(directory).size() >= 5, Duration.ofSeconds(30),
                () -> "the instance's workload never counted: " + read(directory.resolve("slurm.out")));
        Testbed.await(() -> testbed.lifeboat("status", "--socket", testbed.agentSocket("node1").toString(), "--job",
                Long.toString(jobId)).succeeded(), Duration.ofSeconds(10), () -> "job " + jobId + " not registered");

        CommandResult migrate = testbed.lifeboat("migrate", Long.toString(jobId), "--to", "node2", "--mode", mode,
                "--json", "--socket", testbed.agentSocket("node1").toString());
        assertEquals(0, migrate.exitCode(), migrate::describe);
        JsonNode report = JSON.readTree(migrate.stdout());
        assertEquals("migrated", report.path("outcome").asText(), () -> migrate.describe() + "\nnode1 agent log:\n"
                + read(testbed.agentLog("node1")) + "\nnode2 agent log:\n" + read(testbed.agentLog("node2")));
        System.out.printf("Apptainer instance, %s migration of %d MiB: %s, frozen %d ms%n", mode, MEMORY_MIB,
                report.path("phase-millis"), report.path("downtime-millis").asLong());

        int before = sequence(directory).size();
        Testbed.await(() -> sequence(directory).size() >= before + 10, Duration.ofSeconds(30),
                () -> "the restored instance does not count on: " + sequence(directory).size() + " numbers");
        assertSequenceIsUnbroken(directory);
        testbed.awaitJobState(jobId, "RUNNING", Duration.ofSeconds(30));
        assertEquals("node2", testbed.job(jobId).get("NodeList"), () -> "job " + jobId + ": " + testbed.job(jobId));
        MigrationEngineTest.assertNothingLeftOn(testbed, "node1");
        String node1Processes = testbed.run("ps", "-eo", "pid,args").orThrow().stdout();
        assertFalse(node1Processes.contains("Apptainer instance: root [job-" + jobId + "]"),
                () -> "the instance's master is still running on node1:\n" + node1Processes);

        // An Apptainer instance outlives its startscript until it is stopped: `apptainer instance stop`
        // sends SIGTERM to sinit. Its master stayed on node1, so here the test signals sinit itself.
        Files.writeString(directory.resolve("stop"), "0");
        int stopped = sequence(directory).size();
        Testbed.await(() -> sequence(directory).size() == stopped, Duration.ofSeconds(5), () -> "the workload did not stop");
        testbed.run("kill", "-TERM", Long.toString(MigrationEngineTest.restoredInit(testbed, "node2", jobId))).orThrow();
        testbed.awaitJobState(jobId, "COMPLETED", Duration.ofSeconds(30));
        assertEquals("0:0", testbed.job(jobId).get("ExitCode"), () -> "job " + jobId + ": " + testbed.job(jobId));
        assertSequenceIsUnbroken(directory);
        String output = read(directory.resolve("slurm.out"));
        assertTrue(output.contains("restart 1, on node2"), () -> "the requeued job did not start on node2:\n" + output);
    }

    private static void assertSequenceIsUnbroken(Path directory) {
        List<Long> numbers = sequence(directory);
        for (int i = 0; i < numbers.size(); i++) {
            assertEquals(i + 1L, numbers.get(i), "sequence broken at line " + (i + 1) + ": " + numbers);
        }
    }

    private static List<Long> sequence(Path directory) {
        List<Long> numbers = new ArrayList<>();
        for (String line : read(directory.resolve("sequence")).split("\n")) {
            if (!line.isBlank()) {
                numbers.add(Long.parseLong(line.strip()));
            }
        }
        return numbers;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }
}
