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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Jobs Lifeboat cannot move whole are never harmed by it (the two shapes of the report):
 * two tasks on one node, each in a container of its own, and a job on two nodes. A drain leaves
 * them running where they are, every task still counting, never requeued; `lifeboat migrate` is
 * refused with `unmovable` (exit 4) and the reason; `lifeboat status --job` says why; the agent
 * counts the refusal in lifeboat_migrations_unmovable_total.
 */
@TestbedIntegration
final class UnmovableJobsTest {

    private static final Duration EVACUATION_SETTLES = Duration.ofSeconds(8);

    private Testbed testbed;

    @AfterEach
    void undrain() {
        if (testbed != null) {
            testbed.resumeNodes();
        }
    }

    @Test
    void twoTasksOnOneNodeEachInAContainerStayAndCountOnAfterADrain(Testbed testbed) throws Exception {
        this.testbed = testbed;
        Tasks job = Tasks.start(testbed, List.of("--nodelist=node1", "--ntasks=2"), 2);

        assertRefusedAndTold(job, "node1", "runs a container of its own");
        drainAndAssertLeftAlone(job, "node1");
    }

    @Test
    void aJobOnTwoNodesStaysAndCountsOnAfterADrainOfOne(Testbed testbed) throws Exception {
        this.testbed = testbed;
        Tasks job = Tasks.start(testbed, List.of("--nodelist=node1,node2", "--nodes=2", "--ntasks-per-node=1"), 2);

        assertRefusedAndTold(job, "node1", "runs on 2 nodes");
        drainAndAssertLeftAlone(job, "node1");
    }

    private void assertRefusedAndTold(Tasks job, String node, String why) throws IOException {
        String socket = testbed.agentSocket(node).toString();
        CommandResult status = testbed.lifeboat("status", "--job", Long.toString(job.jobId), "--socket", socket);
        assertTrue(status.stdout().contains("job " + job.jobId + ": not movable: ") && status.stdout().contains(why),
                status::describe);
        CommandResult migrate = testbed.lifeboat("migrate", Long.toString(job.jobId), "--socket", socket);
        assertEquals(4, migrate.exitCode(), migrate::describe);
        assertTrue(migrate.stderr().contains("unmovable") && migrate.stderr().contains(why), migrate::describe);
        String metrics = testbed.run("curl", "-sf", "http://" + Testbed.nodeAddress(node) + ":" + Testbed.AGENT_HTTP_PORT
                + "/metrics").orThrow().stdout();
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
    private static final class Tasks {
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

        static Tasks start(Testbed testbed, List<String> shape, int tasks) throws IOException {
            Path directory = Files.createTempDirectory(testbed.runDirectory().resolve("shared"), "tasks-");
            Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
            testbed.run("chown", Testbed.JOB_USER + ":", directory.toString()).orThrow();
            String workload = testbed.userBinary("lifeboat-workload").toString();
            String task = "exec " + testbed.userBinary("lifeboat-run") + " --bind " + workload.substring(0, workload.lastIndexOf('/'))
                    + " -- " + workload + " " + directory + "/sequence.$SLURM_PROCID " + directory + "/stop 16";
            String script = "srun bash -c '" + task + "'";
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

        long count(int rank) {
            return read(directory.resolve("sequence." + rank)).lines().filter(line -> !line.isBlank()).count();
        }

        void stop() throws IOException {
            Files.writeString(directory.resolve("stop"), "0");
            testbed.run("scancel", Long.toString(jobId));
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
