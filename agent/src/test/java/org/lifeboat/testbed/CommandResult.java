package org.lifeboat.testbed;

import java.util.List;

/** What a command run by a test printed and how it ended. */
public record CommandResult(List<String> command, int exitCode, String stdout, String stderr) {

    public boolean succeeded() {
        return exitCode == 0;
    }

    /** Fails with the command, its exit code and its output when the command did not exit 0. */
    public CommandResult orThrow() {
        if (!succeeded()) {
            throw new AssertionError(describe());
        }
        return this;
    }

    public String describe() {
        return String.join(" ", command) + " exited " + exitCode + "\nstdout:\n" + stdout + "\nstderr:\n" + stderr;
    }
}
