package org.lifeboat.agent.peer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.agent.process.CommandRunner;

/**
 * A {@link CommandRunner} that runs nothing: each command gets the next scripted answer, and every
 * command, time limit and standard input is recorded. A command nobody scripted fails the test.
 */
final class ScriptedCommands implements CommandRunner {

    private final Deque<CommandResult> answers = new ArrayDeque<>();
    private final List<List<String>> commands = new ArrayList<>();
    private final List<Duration> timeouts = new ArrayList<>();
    private final List<String> inputs = new ArrayList<>();
    private String failure;

    ScriptedCommands answer(int exitCode, String stdout, String stderr) {
        answers.add(new CommandResult(List.of("scripted"), exitCode, stdout, stderr));
        return this;
    }

    /** Every command from now on cannot be run at all. */
    ScriptedCommands failToRun(String message) {
        failure = message;
        return this;
    }

    List<List<String>> commands() {
        return List.copyOf(commands);
    }

    List<Duration> timeouts() {
        return List.copyOf(timeouts);
    }

    /** The standard input each command got, as text. */
    List<String> inputs() {
        return List.copyOf(inputs);
    }

    @Override
    public CommandResult run(List<String> command, Duration timeout) throws CommandException {
        return run(command, timeout, new byte[0]);
    }

    @Override
    public CommandResult run(List<String> command, Duration timeout, byte[] standardInput) throws CommandException {
        commands.add(List.copyOf(command));
        timeouts.add(timeout);
        inputs.add(new String(standardInput, StandardCharsets.US_ASCII));
        if (failure != null) {
            throw new CommandException(failure);
        }
        CommandResult answer = answers.poll();
        if (answer == null) {
            throw new AssertionError("no answer scripted for " + command);
        }
        return new CommandResult(command, answer.exitCode(), answer.stdout(), answer.stderr());
    }
}
