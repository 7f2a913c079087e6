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
}
