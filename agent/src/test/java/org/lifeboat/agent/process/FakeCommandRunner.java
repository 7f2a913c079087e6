package org.lifeboat.agent.process;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * A {@link CommandRunner} that runs nothing: it answers each command with the next scripted answer
 * and records every command and time limit it was given. A command nobody scripted fails the test.
 */
public final class FakeCommandRunner implements CommandRunner {

    private final Deque<Answer> answers = new ArrayDeque<>();
    private final List<List<String>> commands = new ArrayList<>();
    private final List<Duration> timeouts = new ArrayList<>();

    /** The next command exits with this code and output. */
    public synchronized FakeCommandRunner answer(int exitCode, String stdout, String stderr) {
        answers.add(new Answer(exitCode, stdout, stderr, null));
        return this;
    }

    /** The next command cannot be run at all (as if its executable were missing). */
    public synchronized FakeCommandRunner failToRun(String message) {
        answers.add(new Answer(0, "", "", message));
        return this;
    }

    /** The commands run so far, in order. */
    public synchronized List<List<String>> commands() {
        return List.copyOf(commands);
    }

    /** The time limits the commands were given, in order. */
    public synchronized List<Duration> timeouts() {
        return List.copyOf(timeouts);
    }

    @Override
    public synchronized CommandResult run(List<String> command, Duration timeout) throws CommandException {
        commands.add(List.copyOf(command));
        timeouts.add(timeout);
        Answer answer = answers.poll();
        if (answer == null) {
            throw new AssertionError("no answer scripted for " + command);
        }
        if (answer.failure() != null) {
            throw new CommandException(answer.failure());
        }
        return new CommandResult(command, answer.exitCode(), answer.stdout(), answer.stderr());
    }

    private record Answer(int exitCode, String stdout, String stderr, String failure) {}
}
