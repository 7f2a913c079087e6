package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Jobs Lifeboat cannot move whole are never harmed by it: a job on two nodes (a shape of the
 * issue's report) and a batch script with work of its own beside its container. A drain or a
 * predicted failure leaves them running
 * where they are, every counter still counting, never requeued nor parked; `lifeboat migrate` is
 * refused with `unmovable` (exit 4) and the reason; `lifeboat status --job` says why; the agent
 * counts the refusal in lifeboat_migrations_unmovable_total.
 */
@TestbedIntegration
final class UnmovableJobsTest {

    private static final Duration EVACUATION_SETTLES = Duration.ofSeconds(8);
    /**
     * The node whose failure is predicted: one no other test predicts. A prediction within the
     * hold-down of a withdrawn one for the same node starts no evacuation of its own (issue 24).
     */
    private static final String PREDICTED = "node3";

    private Testbed testbed;

    @Test
    void aJobOnTwoNodesStaysAndCountsOnAfterADrainOfOne(Testbed testbed) throws Exception {
        this.testbed = testbed;
        Tasks job = Tasks.start(testbed, List.of("--nodelist=node1,node2", "--nodes=2", "--ntasks-per-node=1"), 2);

        assertRefusedAndTold(job, "node1", "runs on 2 nodes");
        drainAndAssertLeftAlone(job, "node1");
    }

    /** The contrast, which must keep working: a batch script around one srun task moves whole. */
    @Test
    void aBatchScriptAroundOneSrunTaskStillMovesOnADrain(Testbed testbed) throws Exception {
        this.testbed = testbed;
        Tasks job = Tasks.start(testbed, List.of("--nodelist=node1", "--ntasks=1"), 1);
        CommandResult status = testbed.lifeboat("status", "--job", Long.toString(job.jobId), "--socket",
                testbed.agentSocket("node1").toString());
        assertTrue(status.stdout().contains("job " + job.jobId + ": movable"), status::describe);

        testbed.run("scontrol", "update", "nodename=node1", "state=drain", "reason=lifeboat-unmovable-test").orThrow();
        Testbed.await(() -> SlurmMigrationTest.isRunningAwayFrom(testbed, job.jobId, "node1"), Duration.ofSeconds(60),
                () -> "job " + job.jobId + " did not move off node1: " + testbed.job(job.jobId) + "\n" + read(testbed.agentLog("node1")));
        assertEquals("1", testbed.job(job.jobId).get("Restarts"));
        job.assertEveryTaskCountsOn(Duration.ofSeconds(30));
        job.assertUnbroken(0);
        job.stop();
    }

    @Test
    void aPredictedFailureLeavesAJobWithWorkOutsideItsContainerAlone(Testbed testbed) throws Exception {
        this.testbed = testbed;
        // The batch script starts a process of its own beside the container: a requeue would end it.
        Tasks job = Tasks.start(testbed, List.of("--nodelist=" + PREDICTED), 2, (workload, directory, launcher) -> workload + " "
                + directory + "/sequence.1 " + directory + "/stop 16 & exec " + launcher + " -- " + workload + " " + directory
                + "/sequence.0 " + directory + "/stop 16");
        assertRefusedAndTold(job, PREDICTED, "outside any container");

        testbed.lifeboat("predict", PREDICTED, "--within", "10m", "--confidence", "1.0", "--reason", "unmovable test",
                "--url", testbed.agentUrl(PREDICTED, ""), "--token-file", testbed.predictionToken(PREDICTED).toString()).orThrow();
        try {
            Testbed.await(() -> read(testbed.agentLog(PREDICTED)).contains("job " + job.jobId + " stays here for now: "),
                    Duration.ofSeconds(30), () -> "the evacuation never considered job " + job.jobId);
            job.assertEveryTaskCountsOn(EVACUATION_SETTLES);
            Map<String, String> slurm = testbed.job(job.jobId);
            assertEquals("RUNNING", slurm.get("JobState"), () -> "job " + job.jobId + ": " + slurm);
            assertEquals("0", slurm.get("Restarts"), () -> "the job was requeued or parked: " + slurm);
            job.stop();
        } finally {
            testbed.lifeboat("predict", PREDICTED, "--cancel", "--url", testbed.agentUrl(PREDICTED, ""),
                    "--token-file", testbed.predictionToken(PREDICTED).toString());
        }
    }

    private void assertRefusedAndTold(Tasks job, String node, String why) throws IOException {
        String socket = testbed.agentSocket(node).toString();
        CommandResult status = testbed.lifeboat("status", "--job", Long.toString(job.jobId), "--socket", socket);
        assertTrue(status.stdout().contains("job " + job.jobId + ": not movable: ") && status.stdout().contains(why),
                status::describe);
        CommandResult migrate = testbed.lifeboat("migrate", Long.toString(job.jobId), "--socket", socket);
        assertEquals(4, migrate.exitCode(), migrate::describe);
        assertTrue(migrate.stderr().contains("unmovable") && migrate.stderr().contains(why), migrate::describe);
        String metrics = testbed.agentMetrics(node);
        assertTrue(metrics.lines().anyMatch(line -> line.startsWith("lifeboat_migrations_unmovable_total{")
                && !line.endsWith(" 0.0")), () -> "no unmovable refusal counted:\n" + metrics);
    }

    private void drainAndAssertLeftAlone(Tasks job, String node) throws IOException {
        testbed.run("scontrol", "update", "nodename=" + node, "state=drain", "reason=lifeboat-unmovable-test").orThrow();
        Testbed.await(() -> read(testbed.agentLog(node)).contains("job " + job.jobId + " stays here for now: "),
                Duration.ofSeconds(30), () -> "the evacuation never considered job " + job.jobId + ":\n" + read(testbed.agentLog(node)));
        job.assertEveryTaskCountsOn(EVACUATION_SETTLES);
        Map<String, String> slurm = testbed.job(job.jobId);
        assertEquals("RUNNING", slurm.get("JobState"), () -> "job " + job.jobId + ": " + slurm);
        assertEquals("0", slurm.get("Restarts"), () -> "the job was requeued: " + slurm);
        job.stop();
    }

    /** A --migratable job whose srun step runs one lifeboat-run container per task, each counting in its own file. */
    static final class Tasks {
        final Testbed testbed;
        final long jobId;
        final Path directory;
        final int tasks;

        private Tasks(Testbed testbed, long jobId, Path directory, int tasks) {
            this.testbed = testbed;
            this.jobId = jobId;
            this.directory = directory;
            this.tasks = tasks;
        }

        /** The batch script, given the workload, the job's directory and lifeboat-run with its options. */
        @FunctionalInterface
        interface Script {
            String of(String workload, Path directory, String launcher);
        }

        /** One container per task, each started by srun. */
        static Tasks start(Testbed testbed, List<String> shape, int tasks) throws IOException {
            return start(testbed, shape, tasks, (workload, directory, launcher) -> "srun bash -c 'exec " + launcher + " -- "
                    + workload + " " + directory + "/sequence.$SLURM_PROCID " + directory + "/stop 16'");
        }

        static Tasks start(Testbed testbed, List<String> shape, int tasks, Script batchScript) throws IOException {
            Path directory = Files.createTempDirectory(testbed.runDirectory().resolve("shared"), "tasks-");
            Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
            testbed.run("chown", Testbed.JOB_USER + ":", directory.toString()).orThrow();
            String workload = testbed.userBinary("lifeboat-workload").toString();
            String launcher = testbed.userBinary("lifeboat-run") + " --bind " + workload.substring(0, workload.lastIndexOf('/'));
            String script = batchScript.of(workload, directory, launcher);
            String[] arguments = new String[shape.size() + 5];
            arguments[0] = "--migratable";
            for (int i = 0; i < shape.size(); i++) {
                arguments[i + 1] = shape.get(i);
            }
            arguments[shape.size() + 1] = "--output=" + directory.resolve("slurm.out");
            arguments[shape.size() + 2] = "--chdir=" + directory;
            arguments[shape.size() + 3] = "--wrap";
            arguments[shape.size() + 4] = script;
            long jobId = testbed.sbatchAs(Testbed.JOB_USER, arguments);
            testbed.awaitJobState(jobId, "RUNNING", Duration.ofSeconds(30));
            Tasks started = new Tasks(testbed, jobId, directory, tasks);
            for (int rank = 0; rank < tasks; rank++) {
                int r = rank;
                Testbed.await(() -> started.count(r) >= 3, Duration.ofSeconds(30),
                        () -> "task " + r + " never counted: " + read(directory.resolve("slurm.out")));
            }
            return started;
        }

        void assertEveryTaskCountsOn(Duration during) {
            for (int rank = 0; rank < tasks; rank++) {
                int r = rank;
                long before = count(r);
                Testbed.await(() -> count(r) >= before + 3, during, () -> "task " + r + " stopped counting at " + count(r));
            }
        }

        /** The task's sequence goes on from where it was: 1, 2, 3, ... with no restart and no repeat. */
        void assertUnbroken(int rank) {
            List<String> numbers = read(directory.resolve("sequence." + rank)).lines().filter(line -> !line.isBlank()).toList();
            for (int i = 0; i < numbers.size(); i++) {
                assertEquals(Long.toString(i + 1), numbers.get(i).strip(), "task " + rank + "'s sequence broken at line " + (i + 1));
            }
        }

        long count(int rank) {
            return read(directory.resolve("sequence." + rank)).lines().filter(line -> !line.isBlank()).count();
        }

        void stop() throws IOException {
            Files.writeString(directory.resolve("stop"), "0");
            testbed.run("scancel", Long.toString(jobId));
        }
    }

    static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }
}
