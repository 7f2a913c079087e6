package org.lifeboat.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Runs the command line in this JVM for the paths that end before the agent starts serving. */
class AgentCommandTest {

    @TempDir
    Path directory;

    private final StringWriter standardOutput = new StringWriter();
    private final StringWriter standardError = new StringWriter();

    @Test
    void anInvalidConfigurationExitsWith3AndNamesTheFileOnOneLine() throws Exception {
        Path config = Files.writeString(directory.resolve("agent.yaml"), "htp:\n  port: 1\n");

        int exitCode = run("agent", "--config", config.toString());

        assertEquals(3, exitCode);
        assertEquals("config " + config + ": unknown key 'htp' at line 1"
                + " (known keys: apptainer, checkpoint-directory, containers-directory, criu-path, evacuation, health, http, job-network, node-name, peer, predictor, resume-directory, shared-directory, slurm-user, socket-path, state-directory, transfer-mode, uplink-interface)" + System.lineSeparator(),
                standardError.toString());
    }

    @Test
    void aMissingConfigurationFileExitsWith3() {
        Path config = directory.resolve("absent.yaml");

        assertEquals(3, run("agent", "--config", config.toString()));
        assertTrue(standardError.toString().contains(config.toString()), standardError.toString());
    }

    @Test
    void aMissingCheckpointDirectoryExitsWith1AndNamesIt() throws Exception {
        Path checkpoints = directory.resolve("checkpoints");
        Path config = Files.writeString(directory.resolve("agent.yaml"),
                "node-name: test-node\n"
                + "state-directory: " + directory.resolve("state") + "\n"
                + "checkpoint-directory: " + checkpoints + "\n"
                + "http:\n  port: 0\n");

        int exitCode = run("agent", "--config", config.toString());

        assertEquals(1, exitCode);
        assertTrue(standardError.toString().startsWith("lifeboat agent failed to start: checkpoint directory "
                + checkpoints + " "), standardError.toString());
        assertEquals(1, standardError.toString().lines().count(), standardError.toString());
    }

    @Test
    void aMissingConfigOptionIsAUsageError() {
        assertEquals(2, run("agent"));
        assertTrue(standardError.toString().contains("--config"), standardError.toString());
    }

    @Test
    void noSubcommandIsAUsageError() {
        assertEquals(2, run());
        assertTrue(standardError.toString().contains("Missing required subcommand"), standardError.toString());
    }

    @Test
    void theShippedConfigurationPassesCheckConfig() {
        Path shipped = Path.of(System.getProperty("lifeboat.repo"), "config", "agent.yaml");

        assertEquals(0, run("agent", "--check-config", shipped.toString()), standardError::toString);
        assertEquals(shipped + ": ok" + System.lineSeparator(), standardOutput.toString());
        // A node without eth0 is warned that uplink-interface is unset; nothing else may be said.
        assertTrue(standardError.toString().lines().allMatch(line -> line.contains("uplink-interface is not set")), standardError::toString);
    }

    @Test
    void checkConfigReportsAnInvalidFileWithExitCode3AndStartsNothing() throws Exception {
        Path config = Files.writeString(directory.resolve("agent.yaml"),
                "state-directory: " + directory.resolve("state") + "\nevacuation:\n  drain-poll: often\n");

        assertEquals(3, run("agent", "--check-config", config.toString()));
        assertEquals("config " + config + ": key 'evacuation.drain-poll' at line 3 must be a duration such as 500ms, 30s, 2m"
                + " or 1h, got 'often'" + System.lineSeparator(), standardError.toString());
        assertEquals("", standardOutput.toString());
        assertTrue(Files.notExists(directory.resolve("state")), "the check created the state directory");
    }

    @Test
    void checkConfigWarnsOfADeprecatedKeyAndStillPasses() throws Exception {
        Path config = Files.writeString(directory.resolve("agent.yaml"), "uplink-interface: lo\nevacuation:\n  retry-pause-seconds: 30\n");

        assertEquals(0, run("agent", "--check-config", config.toString()), standardError::toString);
        assertEquals(config + ": ok" + System.lineSeparator(), standardOutput.toString());
        assertEquals("warning: config " + config + ": key 'evacuation.retry-pause-seconds' at line 3 is deprecated and read as"
                + " 'evacuation.retry-pause: 30s': write that instead, the next release will not know evacuation.retry-pause-seconds"
                + System.lineSeparator(), standardError.toString());
    }

    @Test
    void anUplinkInterfaceThisNodeDoesNotHaveFailsTheCheckAndTheStartWithExitCode3() throws Exception {
        Path config = Files.writeString(directory.resolve("agent.yaml"), "uplink-interface: nosuch0\n");

        assertEquals(3, run("agent", "--check-config", config.toString()));
        assertTrue(standardError.toString().startsWith("config " + config + ": key 'uplink-interface' at line 1: this node has no"
                + " network interface nosuch0 (it has "), standardError::toString);
        assertEquals(3, run("agent", "--config", config.toString()));
    }

    @Test
    void checkConfigAndConfigTogetherAreAUsageError() throws Exception {
        Path config = Files.writeString(directory.resolve("agent.yaml"), "");

        assertEquals(2, run("agent", "--config", config.toString(), "--check-config", config.toString()));
        assertTrue(standardError.toString().contains("mutually exclusive"), standardError::toString);
    }

    private int run(String... arguments) {
        CommandLine commandLine = LifeboatCommand.commandLine();
        commandLine.setOut(new PrintWriter(standardOutput, true));
        commandLine.setErr(new PrintWriter(standardError, true));
        return commandLine.execute(arguments);
    }
}
