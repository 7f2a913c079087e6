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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The batch scripts of the README's "A user's job", run as they are written, by an ordinary user,
 * on the testbed: the first is drained off its node mid-run and goes on unbroken, the MPI one runs
 * to its end, the one on two nodes has its first node drained and both parts go on counting. Only what a site provides differs: lifeboat-run and mpirun on the PATH, a program
 * where the script names ./simulate and ./ring, and (this machine has two cores) Open MPI told it
 * may start four ranks on them.
 */
@TestbedIntegration
final class ReadmeExamplesTest {

    private static final Pattern BASH_BLOCK = Pattern.compile("```bash\n(#!/bin/bash\n.*?)```", Pattern.DOTALL);
    // Counts to the number after --steps, one line every 200 ms, on stdout.
    private static final String SIMULATE = """
            #!/bin/sh
            i=0
            while [ "$i" -lt "$2" ]; do i=$((i + 1)); echo "$i"; sleep 0.2; done
            """;

    private Testbed testbed;

    @Test
    void theUsersJobMovesOnADrainAndItsMpiJobRuns(Testbed testbed) throws Exception {
        this.testbed = testbed;
        List<String> scripts = userJobScripts();
        assertEquals(3, scripts.size(), "the README's user's job section has three batch scripts");

        Path directory = jobDirectory();
        Files.writeString(directory.resolve("simulate"), SIMULATE);
        Files.setPosixFilePermissions(directory.resolve("simulate"), PosixFilePermissions.fromString("rwxr-xr-x"));
        long jobId = submit(directory, scripts.get(0));
        Path output = directory.resolve("run.out");
        Testbed.await(() -> lines(output) >= 5, Duration.ofSeconds(60), () -> "the README's job never counted: "
                + UnmovableJobsTest.read(directory.resolve("slurm.out")) + UnmovableJobsTest.read(directory.resolve("run.err")));
        testbed.run("scontrol", "update", "nodename=node1", "state=drain", "reason=lifeboat-readme-test").orThrow();
        Testbed.await(() -> SlurmMigrationTest.isRunningAwayFrom(testbed, jobId, "node1"), Duration.ofSeconds(60),
                () -> "the README's job did not leave node1: " + testbed.job(jobId));
        long moved = lines(output);
        Testbed.await(() -> lines(output) >= moved + 5, Duration.ofSeconds(30), () -> "the job stopped counting at " + moved);
        testbed.run("scancel", Long.toString(jobId));
        List<String> numbers = UnmovableJobsTest.read(output).lines().toList();
        for (int i = 0; i < numbers.size(); i++) {
            assertEquals(Integer.toString(i + 1), numbers.get(i), "the sequence is broken at line " + (i + 1));
        }
        testbed.resumeNodes();

        Path mpi = jobDirectory();
        Files.copy(testbed.userBinary("mpi-ring-openmpi"), mpi.resolve("ring"));
        long mpiJob = submit(mpi, scripts.get(1));
        testbed.awaitJobState(mpiJob, "COMPLETED", Duration.ofSeconds(60));
        assertEquals("ring of 4 ranks: token 4\n", UnmovableJobsTest.read(mpi.resolve("ring.out")),
                () -> UnmovableJobsTest.read(mpi.resolve("slurm.out")));

        Path across = jobDirectory();
        Files.writeString(across.resolve("solver"), SIMULATE);
        Files.setPosixFilePermissions(across.resolve("solver"), PosixFilePermissions.fromString("rwxr-xr-x"));
        long acrossJob = submit(across, scripts.get(2), "node1,node2");
        Path parts = across.resolve("solver.out");
        Testbed.await(() -> lines(parts) >= 10, Duration.ofSeconds(60), () -> "the README's job on two nodes never counted: "
                + UnmovableJobsTest.read(across.resolve("slurm.out")));
        testbed.run("scontrol", "update", "nodename=node1", "state=drain", "reason=lifeboat-readme-test").orThrow();
        Testbed.await(() -> "node[2-3]".equals(testbed.job(acrossJob).get("NodeList"))
                && "RUNNING".equals(testbed.job(acrossJob).get("JobState")), Duration.ofSeconds(120),
                () -> "the README's job on two nodes did not leave node1: " + testbed.job(acrossJob));
        long movedAt = lines(parts);
        Testbed.await(() -> lines(parts) >= movedAt + 10, Duration.ofSeconds(30), () -> "its parts stopped counting at " + movedAt);
        testbed.run("scancel", Long.toString(acrossJob));
        // Two parts, each counting 1, 2, 3, ... on its own, one maybe ahead: each number up to where the slower part
        // got twice, then once up to the faster's; none missing, none thrice.
        Map<String, Long> seen = UnmovableJobsTest.read(parts).lines()
                .collect(Collectors.groupingBy(line -> line, Collectors.counting()));
        long highest = seen.keySet().stream().mapToLong(Long::parseLong).max().orElse(0);
        long previous = 2;
        for (long i = 1; i <= highest; i++) {
            long count = seen.getOrDefault(Long.toString(i), 0L);
            assertTrue(count >= 1 && count <= previous, "number " + i + " was counted " + count + " times: " + seen);
            previous = count;
        }
    }

    /** The bash blocks of the README's section "A user's job" that are batch scripts. */
    private List<String> userJobScripts() throws IOException {
        String readme = Files.readString(testbed.repository().resolve("README.md"));
        int start = readme.indexOf("\n## A user's job\n");
        int end = readme.indexOf("\n## ", start + 1);
        assertTrue(start >= 0 && end > start, "README.md has no section \"A user's job\"");
        List<String> scripts = new ArrayList<>();
        Matcher block = BASH_BLOCK.matcher(readme.substring(start, end));
        while (block.find()) {
            scripts.add(block.group(1));
        }
        return scripts;
    }

    private long submit(Path directory, String script) throws IOException {
        return submit(directory, script, "node1");
    }

    private long submit(Path directory, String script, String nodes) throws IOException {
        Path file = Files.writeString(directory.resolve("job.sh"), script);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        testbed.run("chown", "-R", Testbed.JOB_USER + ":", directory.toString()).orThrow();
        // sbatch passes its environment to the job: the site's PATH, and Open MPI's leave to oversubscribe.
        CommandResult submitted = testbed.run(Duration.ofSeconds(30), List.of("runuser", "-u", Testbed.JOB_USER, "--",
                "env", "-C", directory.toString(), "PATH=" + testbed.userBinary("lifeboat-run").getParent() + ":/usr/bin:/bin",
                "OMPI_MCA_rmaps_base_oversubscribe=1", "SLURM_CONF=" + testbed.slurmConfig(),
                "sbatch", "--parsable", "--nodelist=" + nodes, "--output=" + directory.resolve("slurm.out"), file.toString()))
                .orThrow();
        return Long.parseLong(submitted.stdout().strip().split(";")[0]);
    }

    private Path jobDirectory() throws IOException {
        Path directory = Files.createTempDirectory(testbed.runDirectory().resolve("shared"), "readme-");
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
        return directory;
    }

    private static long lines(Path file) {
        return UnmovableJobsTest.read(file).lines().count();
    }
}
