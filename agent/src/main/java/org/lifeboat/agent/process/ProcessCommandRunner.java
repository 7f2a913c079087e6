package org.lifeboat.agent.process;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;

/** Runs commands as child processes of the agent, with the agent's environment plus fixed additions. */
public final class ProcessCommandRunner implements CommandRunner {

    private static final Logger LOG = Logger.getLogger(ProcessCommandRunner.class.getName());
    // Output written just before exit may still be in transit when the time limit is nearly up.
    private static final long MIN_DRAIN_MILLIS = 1_000;
    // Threads of their own for feeding input and draining output: the common pool has one thread on a
    // 2-core node, and a drain waiting behind another for a pipe the child fills would deadlock both.
    private static final ExecutorService OUTPUT_DRAINS = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "lifeboat-command-output");
        thread.setDaemon(true);
        return thread;
    });

    private static final byte[] NO_INPUT = new byte[0];

    private final Map<String, String> extraEnvironment;

    public ProcessCommandRunner() {
        this(Map.of());
    }

    public ProcessCommandRunner(Map<String, String> extraEnvironment) {
        this.extraEnvironment = Map.copyOf(Objects.requireNonNull(extraEnvironment, "extraEnvironment"));
    }

    @Override
    public CommandResult run(List<String> command, Duration timeout) throws CommandException {
        return run(command, timeout, NO_INPUT);
    }

    @Override
    public CommandResult run(List<String> command, Duration timeout, byte[] standardInput) throws CommandException {
        Objects.requireNonNull(command, "command");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(standardInput, "standardInput");
        if (command.isEmpty()) {
            throw new IllegalArgumentException("empty command");
        }
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().putAll(extraEnvironment);
        if (standardInput.length == 0) {
            builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        }
        long started = System.nanoTime();
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new CommandException("cannot run " + command.get(0) + ": " + e.getMessage(), e);
        }
        if (standardInput.length > 0) {
            feed(process, standardInput, command.get(0));
        }
        // Both streams are drained concurrently: a child blocked on a full stderr pipe would never exit.
        CompletableFuture<String> stdout = drain(process.getInputStream());
        CompletableFuture<String> stderr = drain(process.getErrorStream());
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
                // The TimeoutException cause lets callers tell a time limit from a failure (see FailureReason).
                throw new CommandException(String.join(" ", command) + " did not finish within " + timeout.toMillis()
                        + " ms and was killed" + CommandResult.quoteTail(stderr.getNow("")),
                        new TimeoutException(timeout.toMillis() + " ms"));
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new CommandException("interrupted while running " + command.get(0), e);
        }
        // A process the command started in the background may hold its output open long after it
        // exited; the time limit covers that wait too.
        long drainMillis = Math.max(MIN_DRAIN_MILLIS, timeout.toMillis() - (System.nanoTime() - started) / 1_000_000);
        long drainDeadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(drainMillis);
        String out;
        String err;
        try {
            out = stdout.get(drainMillis, TimeUnit.MILLISECONDS);
            err = stderr.get(Math.max(0, drainDeadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new CommandException(String.join(" ", command) + " exited " + process.exitValue()
                    + " but a process it started kept its output open beyond the time limit of " + timeout.toMillis() + " ms");
        } catch (ExecutionException e) {
            throw new CommandException("cannot read the output of " + command.get(0) + ": " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CommandException("interrupted while reading the output of " + command.get(0), e);
        }
        CommandResult result = new CommandResult(command, process.exitValue(), out, err);
        LOG.fine(() -> String.join(" ", command) + " exited " + result.exitCode());
        return result;
    }

    /**
     * Writes the input on a thread of its own and closes the pipe, so the child sees its end: input
     * larger than the pipe's buffer would otherwise block this thread while the child waits for us
     * to read its output.
     */
    private static void feed(Process process, byte[] standardInput, String program) {
        OUTPUT_DRAINS.execute(() -> {
            try (OutputStream input = process.getOutputStream()) {
                input.write(standardInput);
            } catch (IOException e) {
                // The child exited or closed its input without reading it all; its exit code tells.
                LOG.fine(() -> program + " did not read all of its standard input: " + e.getMessage());
            }
        });
    }

    private static CompletableFuture<String> drain(InputStream stream) {
        return CompletableFuture.supplyAsync(() -> {
            try (stream) {
                return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, OUTPUT_DRAINS);
    }
}
