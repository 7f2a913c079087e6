package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the SPANK plugin does when its agent cannot be reached or its plugstack.conf line is wrong,
 * with the real slurmstepd. slurmstepd reads plugstack.conf afresh for every step, so each test
 * rewrites node3's line and restores it afterwards.
 */
@TestbedIntegration
final class SpankPluginTest {

    private static final String NODE = "node3";
    private static final String UNREACHABLE = "/nonexistent/lifeboat/agent.sock";

    private Path plugstack;
    private String original;

    @BeforeEach
    void rememberPlugstack(Testbed testbed) throws IOException {
        plugstack = testbed.nodeConfigDirectory(NODE).resolve("plugstack.conf");
        original = Files.readString(plugstack);
    }

    @AfterEach
    void restorePlugstack() throws IOException {
        Files.writeString(plugstack, original);
    }

    @Test
    void withRequiredOneAnUnreachableAgentFailsTheMigratableJobWithAMessageTheUserSees(Testbed testbed, @TempDir Path work)
            throws IOException {
        usePluginArguments(testbed, "socket=" + UNREACHABLE + " required=1");

        long migratable = testbed.sbatch("--migratable", "--nodelist=" + NODE, "--output=" + work.resolve("m.out"),
                "--wrap", "echo the-workload-ran");
        long plain = testbed.sbatch("--nodelist=" + NODE, "--output=" + work.resolve("p.out"), "--wrap", "echo plain-ran");

        testbed.awaitJobState(migratable, "FAILED", Duration.ofSeconds(30));
        String output = Files.readString(work.resolve("m.out"));
        assertTrue(output.contains("lifeboat: --migratable was asked for and this site requires the Lifeboat agent")
                && output.contains(UNREACHABLE), output);
        assertFalse(output.contains("the-workload-ran"), output);
        testbed.awaitJobState(plain, "COMPLETED", Duration.ofSeconds(30));
        assertEquals("plain-ran", Files.readString(work.resolve("p.out")).strip(), "a plain job must not need the agent");
    }

    @Test
    void withRequiredZeroAnUnreachableAgentLetsTheJobRunAndLogsIt(Testbed testbed, @TempDir Path work) throws IOException {
        usePluginArguments(testbed, "socket=" + UNREACHABLE + " required=0");

        long jobId = testbed.sbatch("--migratable", "--nodelist=" + NODE, "--output=" + work.resolve("m.out"),
                "--wrap", "echo the-workload-ran");

        testbed.awaitJobState(jobId, "COMPLETED", Duration.ofSeconds(30));
        assertTrue(Files.readString(work.resolve("m.out")).contains("the-workload-ran"));
        String slurmdLog = Files.readString(testbed.runDirectory().resolve("log/slurmd-" + NODE + ".log"));
        assertTrue(slurmdLog.contains("lifeboat: job " + jobId + " runs without migration protection"), slurmdLog);
    }

    @Test
    void anUnknownPlugstackKeyFailsThePluginLoadWithAMessage(Testbed testbed, @TempDir Path work) throws IOException {
        usePluginArguments(testbed, "sokcet=/run/lifeboat/agent.sock");

        long jobId = testbed.sbatch("--nodelist=" + NODE, "--output=" + work.resolve("j.out"), "--wrap", "echo ran");

        Path slurmdLog = testbed.runDirectory().resolve("log/slurmd-" + NODE + ".log");
        Testbed.await(() -> read(slurmdLog).contains("lifeboat: plugstack.conf: unknown key 'sokcet' (known keys: socket, required)"),
                Duration.ofSeconds(30), () -> "no message about the unknown key in " + slurmdLog);
        assertFalse(Files.exists(work.resolve("j.out")) && read(work.resolve("j.out")).contains("ran"),
                "job " + jobId + " ran although its required plugin failed to load");
        testbed.run("scancel", Long.toString(jobId)).orThrow();
    }

    private void usePluginArguments(Testbed testbed, String arguments) throws IOException {
        Path plugin = testbed.repository().resolve("slurm-hooks/lifeboat.so");
        Files.writeString(plugstack, "required " + plugin + " " + arguments + "\n");
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }
}
