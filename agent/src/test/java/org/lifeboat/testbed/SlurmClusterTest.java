package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The testbed is a real Slurm cluster: jobs run on the node asked for, and Slurm tracks their processes. */
@TestbedIntegration
final class SlurmClusterTest {

    @Test
    void everyNodeIsIdleInThePartition(Testbed testbed) {
        String nodes = testbed.run("sinfo", "-h", "-N", "-o", "%N %t").orThrow().stdout();
        for (String node : Testbed.NODES) {
            assertTrue(nodes.contains(node + " idle"), () -> node + " is not idle:\n" + nodes);
        }
    }

    @Test
    void batchJobCompletesOnTheNodeItAskedFor(Testbed testbed, @TempDir Path work) throws IOException {
        Path output = work.resolve("job.out");
        long jobId = testbed.sbatch("--nodelist=node2", "--output=" + output, "--chdir=" + work,
                "--wrap", "echo ran-on=$SLURMD_NODENAME job=$SLURM_JOB_ID");

        testbed.awaitJobState(jobId, "COMPLETED", Duration.ofSeconds(60));

        Map<String, String> job = testbed.job(jobId);
        assertEquals("node2", job.get("NodeList"));
        assertEquals("0:0", job.get("ExitCode"));
        assertEquals("ran-on=node2 job=" + jobId, Files.readString(output).strip());
    }

    @Test
    void slurmTracksEveryProcessOfARunningJobInItsCgroup(Testbed testbed, @TempDir Path work) throws IOException {
        long jobId = testbed.sbatch("--nodelist=node3", "--output=/dev/null", "--chdir=" + work,
                "--wrap", "sleep 300");
        testbed.awaitJobState(jobId, "RUNNING", Duration.ofSeconds(60));

        Testbed.await(() -> pids(testbed, jobId).stream().anyMatch(pid -> commandOf(pid).equals("sleep")),
                Duration.ofSeconds(10), () -> "no sleep process among the tracked pids " + pids(testbed, jobId));
        long sleeper = pids(testbed, jobId).stream().filter(pid -> commandOf(pid).equals("sleep")).findFirst().orElseThrow();
        String cgroups = Files.readString(Path.of("/proc", Long.toString(sleeper), "cgroup"));
        assertTrue(cgroups.contains("freezer:/slurm_node3/uid_0/job_" + jobId + "/"),
                () -> "sleep is not in the job's freezer cgroup:\n" + cgroups);

        testbed.run("scancel", Long.toString(jobId)).orThrow();
        testbed.awaitJobState(jobId, "CANCELLED", Duration.ofSeconds(60));
        Testbed.await(() -> !Files.exists(Path.of("/proc", Long.toString(sleeper))), Duration.ofSeconds(30),
                () -> "scancel left process " + sleeper + " running");
    }

    /** The pids `scontrol listpids` reports for the job: Slurm's own view of its processes. */
    private static List<Long> pids(Testbed testbed, long jobId) {
        CommandResult result = testbed.run("scontrol", "listpids", Long.toString(jobId), "node3");
        if (!result.succeeded()) {
            return List.of();
        }
        return result.stdout().lines()
                .skip(1) // header: PID JOBID STEPID LOCALID GLOBALID
                .map(line -> line.trim().split("\\s+")[0])
                .filter(field -> field.matches("\\d+"))
                .map(Long::parseLong)
                .toList();
    }

    private static String commandOf(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "comm")).strip();
        } catch (IOException e) {
            return "";
        }
    }
}
