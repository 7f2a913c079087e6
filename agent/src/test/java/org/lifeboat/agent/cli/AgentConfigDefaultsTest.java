package org.lifeboat.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.config.HttpConfig;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/** The client commands' defaults come from the node's agent.yaml when it can be read, else are the agent's own. */
class AgentConfigDefaultsTest {

    @TempDir
    Path directory;

    @Test
    void theSocketIsTheAgentsSocketPath() throws Exception {
        Path config = Files.writeString(directory.resolve("agent.yaml"), "socket-path: /var/run/site/lifeboat.sock\n");

        assertEquals(Path.of("/var/run/site/lifeboat.sock"), optionValue(config, "--socket", "status"));
        assertEquals(Path.of("/var/run/site/lifeboat.sock"), optionValue(config, "--socket", "history"));
    }

    @Test
    void anOptionGivenWinsOverTheConfiguration() throws Exception {
        Path config = Files.writeString(directory.resolve("agent.yaml"), "socket-path: /var/run/site/lifeboat.sock\n");

        assertEquals(Path.of("/tmp/other.sock"), optionValue(config, "--socket", "status", "--socket", "/tmp/other.sock"));
    }

    @Test
    void aMissingOrInvalidConfigurationLeavesTheBuiltInDefaults() throws Exception {
        Path invalid = Files.writeString(directory.resolve("agent.yaml"), "socket-path: relative.sock\n");

        assertEquals(Path.of("/run/lifeboat/agent.sock"), optionValue(directory.resolve("absent.yaml"), "--socket", "status"));
        assertEquals(Path.of("/run/lifeboat/agent.sock"), optionValue(invalid, "--socket", "status"));
        // A directory cannot be read as a file, as a file a user may not read cannot (tests run as root, who reads all).
        assertEquals(Path.of("/run/lifeboat/agent.sock"), optionValue(directory, "--socket", "status"));
    }

    @Test
    void theUrlIsWhereTheAgentListensAndTheTokenFileItsOwn() throws Exception {
        Path config = Files.writeString(directory.resolve("agent.yaml"),
                "http:\n  address: 10.1.2.3\n  port: 19464\npredictor:\n  token-file: /etc/site/token\n");

        assertEquals(java.net.URI.create("http://10.1.2.3:19464"), optionValue(config, "--url", "predict", "node1", "--cancel"));
        assertEquals(Path.of("/etc/site/token"), optionValue(config, "--token-file", "predict", "node1", "--cancel"));
    }

    @Test
    void anAgentOnEveryAddressIsReachedOnLoopbackAndOneOnAFreePortNotAtAll() {
        assertEquals(Optional.of("http://127.0.0.1:9464"), AgentConfigDefaults.url(new HttpConfig("0.0.0.0", null, null, null)));
        assertEquals(Optional.of("http://[::1]:9464"), AgentConfigDefaults.url(new HttpConfig("::", null, null, null)));
        assertEquals(Optional.of("http://[fd00::7]:9464"), AgentConfigDefaults.url(new HttpConfig("fd00::7", null, null, null)));
        assertEquals(Optional.empty(), AgentConfigDefaults.url(new HttpConfig(null, 0, null, null)));
    }

    /** The value a subcommand's option has after parsing {@code arguments}, with the defaults read from {@code config}. */
    private static Object optionValue(Path config, String option, String... arguments) {
        CommandLine commandLine = LifeboatCommand.commandLine(config, TestCommandLine.NO_TOOLS);
        ParseResult parsed = commandLine.parseArgs(arguments).subcommand();
        return parsed.commandSpec().findOption(option).getValue();
    }
}
