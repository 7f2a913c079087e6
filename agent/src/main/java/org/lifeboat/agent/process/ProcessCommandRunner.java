package org.lifeboat.agent.process;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/** Runs commands as child processes of the agent, with the agent's environment plus fixed additions. */
public final class ProcessCommandRunner implements CommandRunner {

    private static final Logger LOG = Logger.getLogger(ProcessCommandRunner.class.getName());
    // Threads of their own for draining output: the common pool has one thread on a 2-core node, and
    // a drain waiting behind another for a pipe the child fills would deadlock both.
    private static final ExecutorService OUTPUT_DRAINS = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "lifeboat-command-output");
        thread.setDaemon(true);
        return thread;
    });

    private final Map<String, String> extraEnvironment;

    public ProcessCommandRunner() {
        this(Map.of());
    }

    public ProcessCommandRunner(Map<String, String> extraEnvironment) {
        this.extraEnvironment = Map.copyOf(Objects.requireNonNull(extraEnvironment, "extraEnvironment"));
    }

    @Override
    public CommandResult run(List<String> command, Duration timeout) throws CommandException {
        Objects.requireNonNull(command, "command");
        Objects.requireNonNull(timeout, "timeout");
        if (command.isEmpty()) {
            throw new IllegalArgumentException("empty command");
        }
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().putAll(extraEnvironment);
        builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new CommandException("cannot run " + command.get(0) + ": " + e.getMessage(), e);
        }
        // Both streams are drained concurrently: a child blocked on a full stderr pipe would never exit.
        CompletableFuture<String> stdout = drain(process.getInputStream());
        CompletableFuture<String> stderr = drain(process.getErrorStream());
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
                throw new CommandException(String.join(" ", command) + " did not finish within " + timeout.toMillis()
                        + " ms and was killed" + CommandResult.quoteTail(stderr.getNow("")));
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new CommandException("interrupted while running " + command.get(0), e);
        }
        CommandResult result = new CommandResult(command, process.exitValue(), stdout.join(), stderr.join());
        LOG.fine(() -> String.join(" ", command) + " exited " + result.exitCode());
        return result;
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
