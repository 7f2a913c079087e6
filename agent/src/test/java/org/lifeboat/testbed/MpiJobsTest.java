package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real MPI jobs on one node (Debian's Open MPI 4.1 and MPICH 4.0), four ranks of
 * launcher/tests/mpi-ring.c talking over shared memory, each step depending on every step before it.
 * Started with mpirun inside the job's container, which has a loopback-only network of its own
 * (the launcher's connections to its ranks are TCP on 127.0.0.1), a drain moves the job mid-run:
 * it prints, step for step, what the same program printed in a run that was not moved, and no
 * rank restarts. Ranks started by srun hold Slurm's PMI connection to slurmstepd, which cannot
 * move: such a job is refused with that reason before anything freezes, and left to finish.
 */
@TestbedIntegration
final class MpiJobsTest {

    private static final int RANKS = 4;
    private static final int STEPS = 150;
    private static final int STEP_MILLIS = 200;
    /** Four ranks on two cores: the testbed machine and CI have two. */
    private static final String OPEN_MPI = "mpirun.openmpi --oversubscribe";
    private static final String MPICH = "mpiexec.mpich";
    /**
     * MPICH's UCX otherwise shares memory between ranks as System V segments, which live in the
     * node's IPC namespace and cannot move (the job would be refused as node-shared-memory).
     */
    private static final String UCX_POSIX_SHARED_MEMORY = "export UCX_TLS=^sysv; ";

    private Testbed testbed;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"openmpi", "mpich"})
    void anMpiJobStartedByMpirunInItsContainerMovesAndComputesTheSameResult(String mpi, Testbed testbed) throws Exception {
        this.testbed = testbed;
        Path directory = jobDirectory();
        String ring = testbed.userBinary("mpi-ring-" + mpi).toString();
        String launch = switch (mpi) {
            // Inside the container mpirun must neither ask Slurm for nodes nor start daemons through srun.
            case "openmpi" -> OPEN_MPI + " --mca plm isolated --mca ras ^slurm";
            // Hydra's fork launcher starts its proxy here rather than through srun.
            case "mpich" -> MPICH + " -launcher fork";
            default -> throw new IllegalArgumentException(mpi);
        };
        String unmoved = reference(mpi.equals("openmpi") ? OPEN_MPI : MPICH, ring, STEPS, directory);
        long jobId = testbed.sbatchAs(Testbed.JOB_USER, "--migratable", "--nodelist=node1", "--ntasks=" + RANKS,
                "--output=" + directory.resolve("slurm.out"), "--chdir=" + directory, "--wrap",
                UCX_POSIX_SHARED_MEMORY + "exec " + testbed.userBinary("lifeboat-run") + " --network=loopback --bind " + Path.of(ring).getParent()
                        + " --stdout=" + directory.resolve("ring.out") + " --stderr=" + directory.resolve("ring.err")
                        + " -- " + launch + " -np " + RANKS + " " + ring + " sum " + STEPS + " " + STEP_MILLIS);
        awaitSteps(directory, 5, jobId);
        CommandResult status = testbed.lifeboat("status", "--job", Long.toString(jobId), "--socket",
                testbed.agentSocket("node1").toString());
        assertTrue(status.stdout().contains("job " + jobId + ": movable"), status::describe);
        assertEquals(RANKS, ranks(mpi), "ranks before the move");

        long drained = System.nanoTime();
        testbed.run("scontrol", "update", "nodename=node1", "state=drain", "reason=lifeboat-mpi-test").orThrow();
        Testbed.await(() -> SlurmMigrationTest.isRunningAwayFrom(testbed, jobId, "node1"), Duration.ofSeconds(120),
                () -> "job " + jobId + " did not move off node1: " + testbed.job(jobId) + "\n"
                        + UnmovableJobsTest.read(directory.resolve("ring.err")) + UnmovableJobsTest.read(testbed.agentLog("node1")));
        long steps = steps(directory);
        System.out.printf("%s, %d ranks: drain of node1 -> job %d RUNNING on %s after %d ms, at step %d%n", mpi, RANKS, jobId,
                testbed.job(jobId).get("NodeList"), (System.nanoTime() - drained) / 1_000_000, steps);
        assertEquals("1", testbed.job(jobId).get("Restarts"));
        assertTrue(steps < STEPS, () -> "the job ended before it moved, at step " + steps);
        // The moved ranks are the only ones: none started again, none left on node1.
        assertEquals(RANKS, ranks(mpi), "ranks after the move");
        MigrationEngineTest.assertNothingLeftOn(testbed, "node1");

        testbed.awaitJobState(jobId, "COMPLETED", Duration.ofSeconds(STEPS * STEP_MILLIS / 1000 + 60));
        assertEquals("0:0", testbed.job(jobId).get("ExitCode"));
        assertEquals(unmoved, ringLines(directory.resolve("ring.out")),
                () -> "the moved run printed otherwise than the run that was not moved; its errors:\n"
                        + UnmovableJobsTest.read(directory.resolve("ring.err")));
        assertTrue(!Files.exists(Path.of("/run/netns")) || Stream.of(Path.of("/run/netns").toFile().list())
                .noneMatch(name -> name.startsWith("lifeboat-restore-")), "a restore's namespace name was left");
    }

    /**
     * Open MPI across two nodes: each node's part of the job in its own container with its own
     * address, mpirun and two ranks in node1's, orted and two ranks in node2's, all four talking TCP
     * between the two addresses (launcher/lifeboat-mpi-part). node1 is drained mid-run: its
     * part moves to node3, node2's is checkpointed in place; the connections hold, no rank restarts,
     * and the run prints what an unmoved run prints.
     */
    @Test
    void anOpenMpiJobOnTwoNodesMovesOneNodesPartAndComputesTheSameResult(Testbed testbed) throws Exception {
        this.testbed = testbed;
        Path directory = jobDirectory();
        String ring = testbed.userBinary("mpi-ring-openmpi").toString();
        String unmoved = reference(OPEN_MPI, ring, STEPS, directory);
        long jobId = testbed.sbatchAs(Testbed.JOB_USER, "--migratable=net", "--nodes=2", "--ntasks-per-node=1",
                "--nodelist=node1,node2", "--output=" + directory.resolve("slurm.out"), "--chdir=" + directory, "--wrap",
                "srun " + testbed.userBinary("lifeboat-run") + " --network=job --bind " + Path.of(ring).getParent()
                        + " --stdout=" + directory.resolve("ring.out") + " --stderr=" + directory.resolve("ring.err")
                        + " -- " + testbed.userBinary("lifeboat-mpi-part") + " --mpi openmpi --ranks-per-node 2 " + ring + " sum "
                        + STEPS + " " + STEP_MILLIS);
        awaitSteps(directory, 5, jobId);
        assertEquals(RANKS, ranks("openmpi"), "ranks before the move");

        long drained = System.nanoTime();
        testbed.run("scontrol", "update", "nodename=node1", "state=drain", "reason=lifeboat-mpi-test").orThrow();
        Testbed.await(() -> "node[2-3]".equals(testbed.job(jobId).get("NodeList")) && "RUNNING".equals(testbed.job(jobId).get("JobState")),
                Duration.ofSeconds(120), () -> "job " + jobId + "'s part did not move off node1: " + testbed.job(jobId) + "\n"
                        + UnmovableJobsTest.read(directory.resolve("ring.err")) + UnmovableJobsTest.read(testbed.agentLog("node1")));
        long steps = steps(directory);
        System.out.printf("Open MPI on node1,node2, 2 ranks each: drain of node1 -> RUNNING on %s after %d ms, at step %d%n",
                testbed.job(jobId).get("NodeList"), (System.nanoTime() - drained) / 1_000_000, steps);
        assertTrue(steps < STEPS, () -> "the job ended before it moved, at step " + steps);
        assertEquals(RANKS, ranks("openmpi"), "ranks after the move");

        testbed.awaitJobState(jobId, "COMPLETED", Duration.ofSeconds(STEPS * STEP_MILLIS / 1000 + 60));
        assertEquals("0:0", testbed.job(jobId).get("ExitCode"));
        assertEquals("1", testbed.job(jobId).get("Restarts"));
        assertEquals(unmoved, ringLines(directory.resolve("ring.out")),
                () -> "the moved run printed otherwise than the run that was not moved; its errors:\n"
                        + UnmovableJobsTest.read(directory.resolve("ring.err")));
    }

    @Test
    void ranksStartedBySrunHoldSlurmsPmiConnectionAndAreLeftToFinish(Testbed testbed) throws Exception {
        this.testbed = testbed;
        Path directory = jobDirectory();
        String ring = testbed.userBinary("mpi-ring-mpich").toString();
        // Each rank its own task; the tasks share the job's container, each keeping its PMI-2 connection.
        long jobId = testbed.sbatchAs(Testbed.JOB_USER, "--migratable", "--nodelist=node1", "--ntasks=" + RANKS,
                "--output=" + directory.resolve("slurm.out"), "--chdir=" + directory, "--wrap",
                UCX_POSIX_SHARED_MEMORY + "srun --mpi=pmi2 bash -c 'exec " + testbed.userBinary("lifeboat-run") + " --bind " + Path.of(ring).getParent()
                        + " --stdout=" + directory + "/ring.out.$SLURM_PROCID --stderr=" + directory + "/ring.err.$SLURM_PROCID"
                        + " -- " + ring + " sum " + STEPS / 3 + " " + STEP_MILLIS + "'");
        Path rank0 = directory.resolve("ring.out.0");
        Testbed.await(() -> steps(rank0) >= 3, Duration.ofSeconds(60), () -> "job " + jobId + " never stepped: "
                + UnmovableJobsTest.read(directory.resolve("slurm.out")) + UnmovableJobsTest.read(directory.resolve("ring.err.0")));

        CommandResult refused = testbed.lifeboat("migrate", Long.toString(jobId), "--to", "node2", "--socket",
                testbed.agentSocket("node1").toString());
        assertEquals(4, refused.exitCode(), refused::describe);
        assertTrue(refused.stderr().contains("PMI connection to Slurm's step daemon"), refused::describe);
        CommandResult status = testbed.lifeboat("status", "--job", Long.toString(jobId), "--socket",
                testbed.agentSocket("node1").toString());
        assertTrue(status.stdout().contains("not movable") && status.stdout().contains("slurmstepd"), status::describe);

        // A drain lets it finish where it runs, as Slurm alone would.
        testbed.run("scontrol", "update", "nodename=node1", "state=drain", "reason=lifeboat-mpi-test").orThrow();
        testbed.awaitJobState(jobId, "COMPLETED", Duration.ofSeconds(STEPS * STEP_MILLIS / 1000 + 60));
        Map<String, String> ended = testbed.job(jobId);
        assertEquals("0", ended.get("Restarts"));
        assertEquals("node1", ended.get("NodeList"));
        assertEquals(reference(MPICH, ring, STEPS / 3, directory), ringLines(rank0));
    }

    /**
     * What the program prints in a run that is not moved: on this machine, not under Slurm, without
     * delay, in the job's directory (MPICH's ranks start in the launcher's, and the checkout may be
     * one the job's user cannot enter).
     */
    private String reference(String launch, String ring, int steps, Path directory) {
        List<String> argv = new ArrayList<>(List.of("runuser", "-u", Testbed.JOB_USER, "--", "env", "-C", directory.toString()));
        argv.addAll(List.of(launch.split(" ")));
        argv.addAll(List.of("-np", Integer.toString(RANKS), ring, "sum", Integer.toString(steps), "0"));
        return testbed.run(Duration.ofMinutes(2), argv).orThrow().stdout();
    }

    /**
     * The program's own lines. MPICH's UCX adds one of its own to stdout in the container, which
     * shows no /sys/class/net ("UCX ERROR opendir(/sys/class/net) failed"), harmless.
     */
    private static String ringLines(Path output) {
        return UnmovableJobsTest.read(output).lines().filter(line -> line.startsWith("step ") || line.startsWith("result "))
                .map(line -> line + "\n").collect(java.util.stream.Collectors.joining());
    }

    private Path jobDirectory() throws IOException {
        Path directory = Files.createTempDirectory(testbed.runDirectory().resolve("shared"), "mpi-");
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
        testbed.run("chown", Testbed.JOB_USER + ":", directory.toString()).orThrow();
        return directory;
    }

    private void awaitSteps(Path directory, int steps, long jobId) {
        Testbed.await(() -> steps(directory) >= steps, Duration.ofSeconds(60), () -> "job " + jobId + " never reached step "
                + steps + ": " + testbed.job(jobId) + "\n" + UnmovableJobsTest.read(directory.resolve("slurm.out"))
                + UnmovableJobsTest.read(directory.resolve("ring.err")));
    }

    private static long steps(Path directory) {
        Path output = Files.isDirectory(directory) ? directory.resolve("ring.out") : directory;
        return UnmovableJobsTest.read(output).lines().filter(line -> line.startsWith("step ")).count();
    }

    /** The ring's ranks running on this machine (every testbed node's processes are this machine's). */
    private int ranks(String mpi) {
        // The kernel keeps 15 characters of a command's name.
        String binary = "mpi-ring-" + mpi;
        String name = binary.substring(0, Math.min(15, binary.length()));
        String count = testbed.run("pgrep", "-c", "-x", "-u", Testbed.JOB_USER, name).stdout().strip();
        return count.isEmpty() ? 0 : Integer.parseInt(count);
    }
}
