package org.lifeboat.agent.process;

import java.time.Duration;
import java.util.List;

/**
 * The one way the agent runs an external tool (criu, scontrol, squeue, sbatch, getent, ip, tc):
 * an argument list, never a shell line, and always a time limit.
 */
public interface CommandRunner {

    /** Runs the command to its end or its time limit; a non-zero exit is a result, not an exception. */
    CommandResult run(List<String> command, Duration timeout) throws CommandException;

    /**
     * Runs the command with these bytes as its standard input, for secrets and for input that must
     * not appear in the process list. A default, so runners that feed no input need not change: they
     * can only run commands that are given none.
     */
    default CommandResult run(List<String> command, Duration timeout, byte[] standardInput) throws CommandException {
        if (standardInput.length > 0) {
            throw new UnsupportedOperationException(getClass().getName() + " cannot feed standard input to " + command);
        }
        return run(command, timeout);
    }
}
