package org.lifeboat.agent.lifecycle;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One task run again and again on a daemon thread of its own, a fixed delay after each run ends, from
 * {@link #start} to {@link #stop}: a poll or a background check as a part of the agent's life cycle.
 * A run that throws is logged, and the next one runs as planned (an executor would otherwise drop the
 * schedule without a word).
 */
public final class PeriodicTask implements LifeCycleComponent {

    // A run under way is interrupted at stop, and given this long to end.
    private static final Duration STOP_WAIT = Duration.ofSeconds(5);
    private static final Logger LOG = Logger.getLogger(PeriodicTask.class.getName());

    private final String name;
    private final Duration initialDelay;
    private final Duration delay;
    private final Runnable task;
    // Its thread is made at the first run, so a task never started holds none.
    private final ScheduledExecutorService executor;
    // When the run under way began (System.nanoTime()), or NOT_RUNNING between runs.
    private final AtomicLong runStarted = new AtomicLong(NOT_RUNNING);
    private static final long NOT_RUNNING = Long.MIN_VALUE;

    /** @param name the thread's name, which the log names too */
    public PeriodicTask(String name, Duration initialDelay, Duration delay, Runnable task) {
        this.name = Objects.requireNonNull(name, "name");
        this.initialDelay = Objects.requireNonNull(initialDelay, "initialDelay");
        this.delay = Objects.requireNonNull(delay, "delay");
        this.task = Objects.requireNonNull(task, "task");
        this.executor = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        });
    }

    @Override
    public void start() {
        executor.scheduleWithFixedDelay(this::runOnce, initialDelay.toMillis(), delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void stop() {
        executor.shutdownNow();
        try {
            executor.awaitTermination(STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void runOnce() {
        runStarted.set(System.nanoTime());
        try {
            task.run();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, name + " failed; it runs again in " + delay.toMillis() + " ms", e);
        } finally {
            runStarted.set(NOT_RUNNING);
        }
    }

    /**
     * For the watchdog: a run that throws does not end the schedule, so the task stops only when a
     * run never ends (a call that hangs) or the thread is gone before {@link #stop}.
     */
    public Liveness liveness(Duration hung) {
        return () -> {
            if (executor.isShutdown()) {
                return Optional.empty();
            }
            long started = runStarted.get();
            if (started != NOT_RUNNING && System.nanoTime() - started > hung.toNanos()) {
                return Optional.of(name + " has been in one run for more than " + hung.toSeconds() + " s");
            }
            return Optional.empty();
        };
    }
}
