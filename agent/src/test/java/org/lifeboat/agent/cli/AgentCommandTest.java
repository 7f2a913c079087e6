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

    private final StringWriter standardError = new StringWriter();

    @Test
    void anInvalidConfigurationExitsWith3AndNamesTheFileOnOneLine() throws Exception {
        Path config = Files.writeString(directory.resolve("agent.yaml"), "htp:\n  port: 1\n");

        int exitCode = run("agent", "--config", config.toString());

        assertEquals(3, exitCode);
        assertEquals("config " + config + ": unknown key 'htp' at line 1"
                + " (known keys: apptainer, checkpoint-directory, containers-directory, criu-path, evacuation, health, http, node-name, peer, predictor, resume-directory, shared-directory, slurm-user, socket-path, state-directory, transfer-mode, uplink-interface)" + System.lineSeparator(),
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

    private int run(String... arguments) {
        CommandLine commandLine = LifeboatCommand.commandLine();
        commandLine.setErr(new PrintWriter(standardError, true));
        return commandLine.execute(arguments);
    }
}
