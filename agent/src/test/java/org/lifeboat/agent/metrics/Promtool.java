package org.lifeboat.agent.metrics;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.agent.process.ProcessCommandRunner;

/** The real promtool (Debian's prometheus package, installed by testbed/deps.sh); fails a test when absent. */
public final class Promtool {

    static final Path BINARY = Path.of("/usr/bin/promtool");
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private Promtool() {}

    /** Runs promtool with these arguments and the text as its standard input; fails unless it exits 0. */
    public static CommandResult check(String standardInput, String... arguments) {
        if (!Files.isExecutable(BINARY)) {
            throw new AssertionError(BINARY + " is missing: install Debian's prometheus package (testbed/deps.sh does)");
        }
        List<String> command = new ArrayList<>(List.of(BINARY.toString()));
        command.addAll(List.of(arguments));
        CommandResult result;
        try {
            result = new ProcessCommandRunner().run(command, TIMEOUT, standardInput.getBytes(StandardCharsets.UTF_8));
        } catch (CommandException e) {
            throw new AssertionError(e.getMessage(), e);
        }
        if (!result.succeeded()) {
            throw new AssertionError(String.join(" ", command) + " exited " + result.exitCode() + "\nstdout:\n" + result.stdout()
                    + "\nstderr:\n" + result.stderr());
        }
        return result;
    }
}
