package org.lifeboat.predictor.detect;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * Runs an external tool: the agent passes its one CommandRunner here (argument list, never a shell line,
 * always a time limit), so the adapter needs no process code of its own.
 */
@FunctionalInterface
public interface ToolRunner {

    /** Runs the command to its end; a non-zero exit is a result. Throws when it cannot run or runs out of time. */
    ToolOutput run(List<String> command, Duration timeout) throws IOException;

    /** How a tool ended and what it printed. */
    record ToolOutput(int exitCode, String stdout, String stderr) {}
}
