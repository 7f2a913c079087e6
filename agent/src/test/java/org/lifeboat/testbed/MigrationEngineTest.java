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
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real CRIU moves a 256 MiB container started by lifeboat-run inside a --migratable Slurm job
 * from node1 to node2, in both transfer modes, and the workload's in-memory counter carries on.
 */
@TestbedIntegration
final class MigrationEngineTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MEMORY_MIB = 256;

    @ParameterizedTest
    @ValueSource(strings = {"diskless", "shared-fs"})
    void aContainerMovesToAnotherNodeAndItsSequenceCarriesOn(String mode, Testbed testbed) throws Exception {
        migrateAndCheck(mode, testbed);
    }

    /**
     * Shared-fs on a network file system: every node mounts a file server (sshfs, behind a link of
     * 100 MB/s) at a path of its own, so the target must find the images by name in its own mount,
     * see at once what the source wrote through another client, and leave their deletion to the source.
     */
    @Test
    void sharedFsMovesThroughANetworkFileServer(Testbed testbed) throws Exception {
        String cluster = testbed.clusterScript().toString();
        testbed.run(Duration.ofMinutes(1), List.of(cluster, "storage", "network", "800mbit")).orThrow();
        try {
            Path nodeShared = testbed.runDirectory().resolve("nodes/node1/shared");
            String mounts = Files.readString(Path.of("/proc/self/mounts"));
            assertTrue(mounts.contains(nodeShared + " fuse.sshfs "), () -> nodeShared + " is not an sshfs mount:\n" + mounts);
            migrateAndCheck("shared-fs", testbed);
            assertNoMigrationImagesOnTheFileServer(testbed);
        } finally {
            testbed.run(Duration.ofMinutes(1), List.of(cluster, "storage", "local")).orThrow();
        }
    }

    private static void migrateAndCheck(String mode, Testbed testbed) throws Exception {
        Workload workload = Workload.start(testbed, "node1", MEMORY_MIB);
        long oldInit = workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(5);

        CommandResult migrate = testbed.lifeboat("migrate", Long.toString(workload.jobId), "--to", "node2", "--mode", mode,
                "--json", "--socket", testbed.agentSocket("node1").toString());
        assertEquals(0, migrate.exitCode(), migrate::describe);
        JsonNode report = JSON.readTree(migrate.stdout());
        assertEquals("migrated", report.path("outcome").asText(), migrate::describe);
        for (String phase : List.of("prepare-target", "dump", "send-images", "restore", "confirm", "cleanup")) {
            assertTrue(report.path("phase-millis").has(phase), () -> "phase " + phase + " not timed: " + report);
        }
        System.out.printf("%s migration of %d MiB: %s%n", mode, MEMORY_MIB, report.path("phase-millis"));

        int before = workload.sequence().size();
        workload.awaitSequence(before + 10);
        workload.assertSequenceIsUnbroken();
        long newInit = restoredInit(testbed, "node2", workload.jobId);
        assertTrue(Files.exists(Path.of("/proc", Long.toString(newInit))), "no restored container on node2");
        assertEquals(netns(testbed, "node2"), Files.readSymbolicLink(Path.of("/proc", Long.toString(newInit), "ns/net")).toString(),
                "the restored container is not in node2's network");
        assertRestoredAs(testbed.uidOf(Testbed.JOB_USER), newInit);
        Testbed.await(() -> !Files.exists(Path.of("/proc", Long.toString(oldInit))), Duration.ofSeconds(10),
                () -> "the frozen copy on node1 (pid " + oldInit + ") survived the migration");
        assertNothingLeftOn(testbed, "node1");

        workload.stop();
        Testbed.await(() -> workload.exitStatus().equals("3"), Duration.ofSeconds(10),
                () -> "the restored workload did not report its exit status 3: '" + workload.exitStatus() + "'");
        workload.assertSequenceIsUnbroken();
    }

    /**
     * No image and no mount left on the node. A migration's CLEANUP runs after Slurm has the job
     * RUNNING on its target, so the images may take a moment to go: they are given 10 s.
     */
    static void assertNothingLeftOn(Testbed testbed, String node) throws IOException {
        Path checkpoints = testbed.runDirectory().resolve("nodes").resolve(node).resolve("checkpoints");
        Testbed.await(() -> imagesIn(checkpoints).isEmpty(), Duration.ofSeconds(10),
                () -> "images left in " + checkpoints + ": " + imagesIn(checkpoints));
        String mounts = Files.readString(Path.of("/proc/self/mountinfo"));
        assertFalse(mounts.contains(checkpoints + "/"), () -> "mounts left below " + checkpoints + ":\n" + mounts);
    }

    /** The restored container's init runs as the job's owner, with no capability in any set. */
    static void assertRestoredAs(int uid, long init) throws IOException {
        String status = Files.readString(Path.of("/proc", Long.toString(init), "status"));
        assertTrue(status.contains("\nUid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid + "\n"), status);
        for (String set : List.of("CapInh", "CapPrm", "CapEff", "CapAmb")) {
            assertTrue(status.contains(set + ":\t0000000000000000"), () -> set + " of the restored init: " + status);
        }
    }

    /** No migration's images left in the file server's export (parked checkpoints, ParkedJobTest's, aside). */
    static void assertNoMigrationImagesOnTheFileServer(Testbed testbed) {
        Path export = testbed.runDirectory().resolve("storage");
        java.util.function.Supplier<List<Path>> migrationImages = () -> imagesIn(export).stream()
                .filter(path -> !path.startsWith(export.resolve("parked"))).toList();
        Testbed.await(() -> migrationImages.get().isEmpty(), Duration.ofSeconds(10),
                () -> "images left on the file server: " + migrationImages.get());
    }

    private static List<Path> imagesIn(Path checkpoints) {
        try (Stream<Path> files = Files.walk(checkpoints)) {
            // The agent's post-dump script stays in the outgoing directory for the next migration.
            return files.filter(Files::isRegularFile).filter(file -> !file.getFileName().toString().equals("criu-post-dump.sh"))
                    .toList();
        } catch (IOException | java.io.UncheckedIOException e) {
            // A directory deleted while walked: look again.
            return List.of(checkpoints);
        }
    }

    private static String netns(Testbed testbed, String node) throws IOException {
        return "net:[" + Files.getAttribute(Path.of("/run/netns", Testbed.networkNamespace(node)), "unix:ino") + "]";
    }

    static long restoredInit(Testbed testbed, String node, long jobId) throws IOException {
        JsonNode jobs = JSON.readTree(testbed.lifeboat("status", "--json", "--socket", testbed.agentSocket(node).toString())
                .orThrow().stdout()).path("jobs");
        for (JsonNode job : jobs) {
            if (job.path("job").asLong() == jobId) {
                return job.path("container").path("init-pid").asLong();
            }
        }
        throw new AssertionError("job " + jobId + " is not registered on " + node + ": " + jobs);
    }

    /** The test workload in a lifeboat-run container, in a --migratable batch job. */
    static final class Workload {
        final long jobId;
        final Path directory;

        private Workload(long jobId, Path directory) {
            this.jobId = jobId;
            this.directory = directory;
        }

        static Workload start(Testbed testbed, String node, int mebibytes) throws IOException {
            return start(testbed, node, mebibytes, 0);
        }

        /**
         * @param tmpMebibytes random data the workload first writes to its container's /tmp: a tmpfs,
         *     whose contents travel with the other image files rather than as memory pages
         */
        static Workload start(Testbed testbed, String node, int mebibytes, int tmpMebibytes) throws IOException {
            return start(testbed, node, mebibytes, tmpMebibytes, Testbed.JOB_USER);
        }

        static Workload start(Testbed testbed, String node, int mebibytes, int tmpMebibytes, String user) throws IOException {
            // The job is an ordinary user's, as on a cluster: its directory theirs, lifeboat-run the setuid one.
            Path directory = Files.createTempDirectory(testbed.runDirectory().resolve("shared"), "workload-");
            Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
            testbed.run("chown", user + ":", directory.toString()).orThrow();
            String launcher = testbed.userBinary("lifeboat-run").toString();
            String workload = testbed.userBinary("lifeboat-workload").toString();
            String command = workload + " " + directory.resolve("sequence") + " " + directory.resolve("stop") + " " + mebibytes;
            if (tmpMebibytes > 0) {
                command = "/bin/sh -c 'head -c " + tmpMebibytes + "M /dev/urandom > /tmp/blob && exec " + command + "'";
            }
            // The echo shows in the job's output once per start: after a move, twice, the first one kept.
            String script = "echo \"batch script started, restart ${SLURM_RESTART_COUNT:-0}, on $SLURMD_NODENAME\"; exec "
                    + launcher + " --stdout " + directory.resolve("out") + " --stderr " + directory.resolve("err")
                    + " --exit-status-file " + directory.resolve("status") + " --bind " + workload.substring(0, workload.lastIndexOf('/'))
                    + " -- " + command;
            // Appended, not truncated, when Slurm starts the requeued job on the target.
            long jobId = testbed.sbatchAs(user, "--migratable", "--nodelist=" + node, "--open-mode=append",
                    "--output=" + directory.resolve("slurm.out"),
                    "--chdir=" + directory, "--wrap", script);
            testbed.awaitJobState(jobId, "RUNNING", Duration.ofSeconds(30));
            return new Workload(jobId, directory);
        }

        /** Waits until the agent on the node has the job and its container's init pid is known. */
        long awaitContainer(Testbed testbed, String node) throws IOException {
            Testbed.await(() -> Files.exists(directory.resolve("sequence")), Duration.ofSeconds(30),
                    () -> "the workload never started: " + read(directory.resolve("slurm.out")) + read(directory.resolve("err")));
            Testbed.await(() -> testbed.lifeboat("status", "--socket", testbed.agentSocket(node).toString(), "--job",
                    Long.toString(jobId)).succeeded(), Duration.ofSeconds(10), () -> "job " + jobId + " not registered");
            return initPid();
        }

        /** The container init's pid, from the manifest lifeboat-run wrote for this workload. */
        long initPid() throws IOException {
            String sequenceFile = directory.resolve("sequence").toString();
            try (Stream<Path> containers = Files.list(Path.of("/run/lifeboat/containers"))) {
                for (Path container : (Iterable<Path>) containers::iterator) {
                    JsonNode manifest = JSON.readTree(read(container.resolve("manifest.json")).isEmpty() ? "{}"
                            : read(container.resolve("manifest.json")));
                    if (manifest.path("argv").toString().contains(sequenceFile)) {
                        return manifest.path("init-pid").asLong();
                    }
                }
            }
            throw new AssertionError("no lifeboat-run manifest for " + sequenceFile);
        }

        void awaitSequence(int count) {
            Testbed.await(() -> sequence().size() >= count, Duration.ofSeconds(60),
                    () -> "the sequence stopped at " + sequence().size() + " numbers, wanted " + count);
        }

        List<Long> sequence() {
            return read(directory.resolve("sequence")).lines().filter(line -> !line.isBlank()).map(Long::parseLong).toList();
        }

        /** 1, 2, 3, ... with no restart and no number twice: the counter lived on in memory. */
        void assertSequenceIsUnbroken() {
            List<Long> numbers = sequence();
            for (int i = 0; i < numbers.size(); i++) {
                assertEquals(i + 1L, numbers.get(i), "sequence broken at line " + (i + 1) + ": " + numbers);
            }
        }

        /** Ends the workload with exit status 3. */
        void stop() throws IOException {
            Files.writeString(directory.resolve("stop"), "");
        }

        /** Ends the workload with the given exit status. */
        void stop(int status) throws IOException {
            Files.writeString(directory.resolve("stop"), Integer.toString(status));
        }

        String slurmOutput() {
            return read(directory.resolve("slurm.out"));
        }

        String exitStatus() {
            return read(directory.resolve("status")).strip();
        }

        private static String read(Path file) {
            try {
                return Files.readString(file);
            } catch (IOException e) {
                return "";
            }
        }
    }
}
