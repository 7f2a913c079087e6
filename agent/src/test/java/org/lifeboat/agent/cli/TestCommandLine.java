package org.lifeboat.agent.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.lifeboat.agent.process.CommandRunner;
import picocli.CommandLine;

/** The lifeboat command line as a test runs it: the node's agent.yaml where the test says, its output kept. */
final class TestCommandLine {

    /** For commands that must run no tool. */
    static final CommandRunner NO_TOOLS = (command, timeout) -> {
        throw new AssertionError("no tool runs here: " + command);
    };

    private final Path agentConfig;
    private final CommandRunner commands;
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    /** @param agentConfig the node's agent.yaml for the commands' defaults; a path that does not exist for none */
    TestCommandLine(Path agentConfig, CommandRunner commands) {
        this.agentConfig = agentConfig;
        this.commands = commands;
    }

    int run(String... arguments) {
        CommandLine commandLine = LifeboatCommand.commandLine(agentConfig, commands);
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        return commandLine.execute(arguments);
    }

    /** Everything the runs so far printed on standard output. */
    String out() {
        return out.toString();
    }

    /** Everything the runs so far printed on standard error. */
    String err() {
        return err.toString();
    }
}
