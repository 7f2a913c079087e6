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
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Apptainer instances (the test double in setuid mode: a real SIF, loop-mounted squashfs, PID and
 * mount namespaces, the master and sinit layout, an ordinary user's sinit not dumpable) holding
 * 256 MiB, started by --migratable batch jobs of an ordinary user (and one of root's) through
 * {@code lifeboat-run --apptainer-instance}, move between testbed nodes with real CRIU:
 * their sequence in a bind-mounted shared directory goes on with no reset, the source keeps
 * nothing, Slurm tracks the restored instance in the same job, and the job ends on the target.
 */
@TestbedIntegration
final class ApptainerMigrationTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MEMORY_MIB = 256;
    private static final Duration MOVE_TIMEOUT = Duration.ofSeconds(60);


    @ParameterizedTest
    @CsvSource({"diskless, " + Testbed.JOB_USER, "shared-fs, root", "post-copy, " + Testbed.JOB_USER})
    void anInstanceMovesToAnotherNodeAndTheJobCompletesThereWithExitCode0(String mode, String user, Testbed testbed)
            throws Exception {
        Instance instance = Instance.start(testbed, "node1", user);

        CommandResult migrate = testbed.lifeboat("migrate", Long.toString(instance.jobId), "--to", "node2", "--mode", mode,
                "--json", "--socket", testbed.agentSocket("node1").toString());
        assertEquals(0, migrate.exitCode(), migrate::describe);
        JsonNode report = JSON.readTree(migrate.stdout());
        assertEquals("migrated", report.path("outcome").asText(), () -> migrate.describe() + "\nnode1 agent log:\n"
                + read(testbed.agentLog("node1")) + "\nnode2 agent log:\n" + read(testbed.agentLog("node2")));
        assertEquals(mode, report.path("mode").asText(), report::toString);
        System.out.printf("Apptainer instance, %s migration of %d MiB: %s, frozen %d ms%n", mode, MEMORY_MIB,
                report.path("phase-millis"), report.path("downtime-millis").asLong());

        instance.assertCountsOn();
        instance.assertRestoredAsItsUserOn("node2");
        testbed.awaitJobState(instance.jobId, "RUNNING", Duration.ofSeconds(30));
        assertEquals("node2", testbed.job(instance.jobId).get("NodeList"), () -> "job " + instance.jobId + ": "
                + testbed.job(instance.jobId));
        instance.assertNothingLeftOn("node1");

        // An Apptainer instance outlives its startscript until it is stopped: `apptainer instance stop`
        // sends SIGTERM to sinit. Its master stayed on node1, so here the test signals sinit itself.
        Files.writeString(instance.directory.resolve("stop"), "0");
        int stopped = instance.sequence().size();
        Testbed.await(() -> instance.sequence().size() == stopped, Duration.ofSeconds(5), () -> "the workload did not stop");
        testbed.run("kill", "-TERM", Long.toString(MigrationEngineTest.restoredInit(testbed, "node2", instance.jobId))).orThrow();
        testbed.awaitJobState(instance.jobId, "COMPLETED", Duration.ofSeconds(30));
        assertEquals("0:0", testbed.job(instance.jobId).get("ExitCode"), () -> "job " + instance.jobId + ": "
                + testbed.job(instance.jobId));
        instance.assertSequenceIsUnbroken();
        String output = read(instance.directory.resolve("slurm.out"));
        assertTrue(output.contains("restart 0, on node1") && output.contains("restart 1, on node2"),
                () -> "the job's output was not continued across the move:\n" + output);
    }

    @Test
    void aDrainMovesAUsersInstanceWhereSlurmTracksItAndScancelEndsIt(Testbed testbed) throws Exception {
        Instance instance = Instance.start(testbed, "node1", Testbed.JOB_USER);
        // Its restore runs CRIU as root (the instance's IPC namespace): never from images its owner can reach.
        CommandResult refused = testbed.lifeboat("migrate", Long.toString(instance.jobId), "--to", "node2", "--mode",
                "shared-fs", "--socket", testbed.agentSocket("node1").toString());
        assertEquals(4, refused.exitCode(), refused::describe);
        assertTrue(refused.stderr().contains("unmovable") && refused.stderr().contains("diskless or post-copy only"), refused::describe);
        instance.assertCountsOn();

        long drained = System.nanoTime();
        testbed.run("scontrol", "update", "nodename=node1", "state=drain", "reason=lifeboat-test-drain").orThrow();
        Testbed.await(() -> SlurmMigrationTest.isRunningAwayFrom(testbed, instance.jobId, "node1"), MOVE_TIMEOUT,
                () -> "job " + instance.jobId + " did not move off the drained node1: " + testbed.job(instance.jobId)
                        + "\n" + read(testbed.agentLog("node1")));
        Map<String, String> job = testbed.job(instance.jobId);
        String target = job.get("NodeList");
        System.out.printf("Apptainer instance: drain of node1 -> job %d RUNNING on %s: %d ms%n", instance.jobId, target,
                (System.nanoTime() - drained) / 1_000_000);
        assertEquals("1", job.get("Restarts"), () -> "restart count: " + job);
        assertTrue(job.getOrDefault("AdminComment", "").startsWith("lifeboat-migrated:node1->" + target + "@"),
                () -> "no migration record: " + job);
        instance.assertCountsOn();
        instance.assertRestoredAsItsUserOn(target);
        instance.assertNothingLeftOn("node1");
        long restored = MigrationEngineTest.restoredInit(testbed, target, instance.jobId);
        Testbed.await(() -> testbed.run("scontrol", "listpids", Long.toString(instance.jobId), target).stdout()
                        .contains(restored + " "), Duration.ofSeconds(10),
                () -> "Slurm does not track the restored instance " + restored + ": "
                        + testbed.run("scontrol", "listpids", Long.toString(instance.jobId), target).describe());

        testbed.run("scancel", Long.toString(instance.jobId)).orThrow();
        Testbed.await(() -> !SlurmMigrationTest.isAlive(restored), Duration.ofSeconds(30),
                () -> "the restored instance (pid " + restored + ") outlived scancel");
        testbed.awaitJobState(instance.jobId, "CANCELLED", Duration.ofSeconds(30));
        instance.assertSequenceIsUnbroken();
    }

    /** The test workload in an instance of the Apptainer double, in a --migratable batch job of user's. */
    private static final class Instance {
        final Testbed testbed;
        final long jobId;
        final Path directory;
        final String user;

        private Instance(Testbed testbed, long jobId, Path directory, String user) {
            this.testbed = testbed;
            this.jobId = jobId;
            this.directory = directory;
            this.user = user;
        }

        /**
         * A SIF whose startscript runs the workload from the bound shared directory (the user's);
         * the user starts it with the published double (an apptainer-suid install); waits until it counts.
         */
        static Instance start(Testbed testbed, String node, String user) throws IOException {
            Path directory = Files.createTempDirectory(testbed.runDirectory().resolve("shared"), "apptainer-");
            Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.copy(testbed.repository().resolve("launcher/tests/lifeboat-workload-static"), directory.resolve("workload"),
                    StandardCopyOption.COPY_ATTRIBUTES);
            Path startscript = directory.resolve("startscript");
            Files.writeString(startscript, "exec /mnt/workload /mnt/sequence /mnt/stop " + MEMORY_MIB + "\n");
            Path image = directory.resolve("job.sif");
            testbed.run(testbed.repository().resolve("testbed/apptainer/build-test-image.sh").toString(), image.toString(),
                    startscript.toString()).orThrow();
            testbed.run("chown", "-R", user + ":", directory.toString()).orThrow();
            String apptainer = testbed.runDirectory().resolve("lib/apptainer/apptainer").toString();
            // The echo shows in the job's output once per start: after a move, twice, the first one kept.
            String script = "echo \"batch script started, restart ${SLURM_RESTART_COUNT:-0}, on $SLURMD_NODENAME\"; exec "
                    + testbed.userBinary("lifeboat-run") + " --apptainer-instance job-$SLURM_JOB_ID -- "
                    + apptainer + " instance start --bind " + directory + ":/mnt " + image + " job-$SLURM_JOB_ID";
            String[] sbatch = {"--migratable", "--nodelist=" + node, "--open-mode=append",
                    "--output=" + directory.resolve("slurm.out"), "--chdir=" + directory, "--wrap", script};
            long jobId = user.equals("root") ? testbed.sbatch(sbatch) : testbed.sbatchAs(user, sbatch);
            testbed.awaitJobState(jobId, "RUNNING", Duration.ofSeconds(30));
            Instance instance = new Instance(testbed, jobId, directory, user);
            Testbed.await(() -> instance.sequence().size() >= 5, Duration.ofSeconds(30),
                    () -> "the instance's workload never counted: " + read(directory.resolve("slurm.out")));
            Testbed.await(() -> testbed.lifeboat("status", "--socket", testbed.agentSocket(node).toString(), "--job",
                    Long.toString(jobId)).succeeded(), Duration.ofSeconds(10), () -> "job " + jobId + " not registered");
            return instance;
        }

        void assertCountsOn() {
            int before = sequence().size();
            Testbed.await(() -> sequence().size() >= before + 10, Duration.ofSeconds(30),
                    () -> "the restored instance does not count on: " + sequence().size() + " numbers");
            assertSequenceIsUnbroken();
        }

        /** No images, no mounts and no process of the instance (its master included) on the node. */
        void assertNothingLeftOn(String node) throws IOException {
            MigrationEngineTest.assertNothingLeftOn(testbed, node);
            String processes = testbed.run("ps", "-eo", "pid,args").orThrow().stdout();
            assertFalse(processes.contains("Apptainer instance: " + user + " [job-" + jobId + "]"),
                    () -> "the instance's master is still running:\n" + processes);
        }

        /** A user's restored sinit has the user's ids and no capability; root's stays root's. */
        void assertRestoredAsItsUserOn(String node) throws IOException {
            long init = MigrationEngineTest.restoredInit(testbed, node, jobId);
            if (user.equals("root")) {
                String status = Files.readString(Path.of("/proc", Long.toString(init), "status"));
                assertTrue(status.contains("\nUid:\t0\t0\t0\t0\n"), status);
            } else {
                MigrationEngineTest.assertRestoredAs(testbed.uidOf(user), init);
            }
        }

        void assertSequenceIsUnbroken() {
            List<Long> numbers = sequence();
            for (int i = 0; i < numbers.size(); i++) {
                assertEquals(i + 1L, numbers.get(i), "sequence broken at line " + (i + 1) + ": " + numbers);
            }
        }

        List<Long> sequence() {
            List<Long> numbers = new ArrayList<>();
            for (String line : read(directory.resolve("sequence")).split("\n")) {
                if (!line.isBlank()) {
                    numbers.add(Long.parseLong(line.strip()));
                }
            }
            return numbers;
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
