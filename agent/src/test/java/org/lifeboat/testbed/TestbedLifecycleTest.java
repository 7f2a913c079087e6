package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** `cluster.sh down` leaves nothing behind, and `up` can be run again and again. */
@TestbedIntegration
final class TestbedLifecycleTest {

    private static final Duration TIMEOUT = Duration.ofMinutes(3);

    @Test
    void downLeavesNothingBehindAndUpIsIdempotent(Testbed testbed) throws IOException {
        String script = testbed.clusterScript().toString();
        long jobId = testbed.sbatch("--nodelist=node1", "--output=/dev/null", "--wrap", "sleep 600");
        testbed.awaitJobState(jobId, "RUNNING", Duration.ofSeconds(60));

        testbed.run(TIMEOUT, List.of(script, "down")).orThrow();

        assertFalse(Files.exists(testbed.runDirectory()), "the run directory survives");
        String mounts = Files.readString(Path.of("/proc/self/mountinfo"));
        assertFalse(mounts.contains(testbed.runDirectory().toString()), () -> "mounts survive:\n" + mounts);
        String namespaces = testbed.run("ip", "netns", "list").orThrow().stdout();
        assertFalse(namespaces.contains("lb-node"), () -> "network namespaces survive:\n" + namespaces);
        assertFalse(testbed.run("ip", "link", "show", "lbbr0").succeeded(), "the bridge survives");
        assertEquals(List.of(), processesOfTheTestbed(testbed), "processes survive");
        assertEquals(List.of(), slurmCgroups(), "slurm's cgroups survive");

        testbed.run(TIMEOUT, List.of(script, "up")).orThrow();
        testbed.run(TIMEOUT, List.of(script, "up")).orThrow();
        CommandResult status = testbed.run(TIMEOUT, List.of(script, "status"));
        assertEquals(0, status.exitCode(), status::describe);
        assertTrue(status.stdout().contains("agent healthy"), status::describe);
    }

    /** Processes whose command line names the testbed's run directory: its daemons, agents and jobs. */
    private static List<String> processesOfTheTestbed(Testbed testbed) throws IOException {
        String marker = testbed.runDirectory().toString();
        try (Stream<Path> processes = Files.list(Path.of("/proc"))) {
            return processes.filter(path -> path.getFileName().toString().matches("\\d+"))
                    .map(path -> commandLine(path))
                    .filter(commandLine -> commandLine.contains(marker))
                    .toList();
        }
    }

    private static String commandLine(Path process) {
        try {
            return Files.readString(process.resolve("cmdline")).replace('\0', ' ');
        } catch (IOException e) {
            return ""; // the process ended while we looked
        }
    }

    private static List<Path> slurmCgroups() throws IOException {
        try (Stream<Path> controllers = Files.list(Path.of("/sys/fs/cgroup"))) {
            return controllers.flatMap(controller -> Testbed.NODES.stream().map(node -> controller.resolve("slurm_" + node)))
                    .filter(Files::exists)
                    .toList();
        }
    }
}
