package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every task of a job on a node moves together: the tasks of one srun step share the job's
 * container on the node (launcher/README.md), so one CRIU run dumps and restores them all. A
 * drain moves the job; every task's sequence goes on unbroken on the target, the job keeps its id
 * with Restarts=1, and each task's own exit status reaches srun and the job's exit code. Steps
 * running at once (a batch script starting two srun in the background) share it too.
 */
@TestbedIntegration
final class JobTasksTest {

    private Testbed testbed;

    @Test
    void twoConcurrentSrunStepsOfABatchScriptMoveTogether(Testbed testbed) throws Exception {
        this.testbed = testbed;
        // Both steps' tasks are PROCID 0: each counts in a file named after its step.
        UnmovableJobsTest.Tasks job = UnmovableJobsTest.Tasks.start(testbed, List.of("--nodelist=node1", "--ntasks=2"), 2,
                (workload, directory, launcher) -> {
                    String step = "srun --exact -n1 bash -c 'exec " + launcher + " -- " + workload + " " + directory
                            + "/sequence.$SLURM_STEP_ID " + directory + "/stop 16'";
                    // The job's exit code is the steps' worst, as a script that waits for each would give it.
                    return step + " & first=$!; " + step + " & second=$!; wait $first; a=$?; wait $second; b=$?;"
                            + " exit $(( a > b ? a : b ))";
                });
        drainAndAssertMovedWithEveryTask(job, 2);
    }

    @ParameterizedTest(name = "{0} tasks")
    @ValueSource(ints = {2, 8})
    void theTasksOfAStepOnANodeMoveTogetherAndEachEndsWithItsStatus(int tasks, Testbed testbed) throws Exception {
        this.testbed = testbed;
        UnmovableJobsTest.Tasks job = UnmovableJobsTest.Tasks.start(testbed, List.of("--nodelist=node1", "--ntasks=" + tasks),
                tasks);
        CommandResult status = testbed.lifeboat("status", "--job", Long.toString(job.jobId), "--socket",
                testbed.agentSocket("node1").toString());
        assertTrue(status.stdout().contains("job " + job.jobId + ": movable"), status::describe);
        drainAndAssertMovedWithEveryTask(job, tasks);
    }

    private void drainAndAssertMovedWithEveryTask(UnmovableJobsTest.Tasks job, int tasks) throws Exception {
        long drained = System.nanoTime();
        testbed.run("scontrol", "update", "nodename=node1", "state=drain", "reason=lifeboat-tasks-test").orThrow();
        Testbed.await(() -> SlurmMigrationTest.isRunningAwayFrom(testbed, job.jobId, "node1"), Duration.ofSeconds(90),
                () -> "job " + job.jobId + " did not move off node1: " + testbed.job(job.jobId) + "\n"
                        + UnmovableJobsTest.read(testbed.agentLog("node1")));
        System.out.printf("%d tasks: drain of node1 -> job %d RUNNING on %s: %d ms%n", tasks, job.jobId,
                testbed.job(job.jobId).get("NodeList"), (System.nanoTime() - drained) / 1_000_000);
        assertEquals("1", testbed.job(job.jobId).get("Restarts"));
        job.assertEveryTaskCountsOn(Duration.ofSeconds(30));
        for (int rank = 0; rank < tasks; rank++) {
            job.assertUnbroken(rank);
        }

        // Each task ends with a status of its own: the workload exits with the number in the stop file.
        Files.writeString(job.directory.resolve("stop"), "3");
        testbed.awaitJobState(job.jobId, "FAILED", Duration.ofSeconds(60));
        Map<String, String> ended = testbed.job(job.jobId);
        assertEquals("3:0", ended.get("ExitCode"), () -> "job " + job.jobId + ": " + ended);
        for (int rank = 0; rank < tasks; rank++) {
            job.assertUnbroken(rank);
        }
    }
}
