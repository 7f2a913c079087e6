package org.lifeboat.agent.process;

import java.util.List;
import java.util.Objects;

/** How an external command ended and what it printed. */
public record CommandResult(List<String> command, int exitCode, String stdout, String stderr) {

    /** Lines quoted from a failed command's output: enough to see the cause, not a whole log. */
    static final int QUOTED_LINES = 20;

    public CommandResult {
        command = List.copyOf(Objects.requireNonNull(command, "command"));
        Objects.requireNonNull(stdout, "stdout");
        Objects.requireNonNull(stderr, "stderr");
    }

    public boolean succeeded() {
        return exitCode == 0;
    }

    /** This result if the command exited 0; otherwise an exception quoting the end of its output. */
    public CommandResult requireSuccess() throws CommandException {
        if (!succeeded()) {
            throw new CommandException(String.join(" ", command) + " exited " + exitCode + quoteTail(stderr.isBlank() ? stdout : stderr));
        }
        return this;
    }

    static String quoteTail(String output) {
        List<String> lines = output.strip().lines().toList();
        if (lines.isEmpty()) {
            return " with no output";
        }
        List<String> tail = lines.subList(Math.max(0, lines.size() - QUOTED_LINES), lines.size());
        return ":\n  | " + String.join("\n  | ", tail);
    }
}
