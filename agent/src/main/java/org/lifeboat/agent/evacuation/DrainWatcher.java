package org.lifeboat.agent.evacuation;

import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.logging.Logger;
import org.lifeboat.agent.lifecycle.LifeCycleComponent;
import org.lifeboat.agent.lifecycle.Liveness;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.slurm.SlurmClient;

/**
 * Watches this node's state in Slurm and evacuates it when an admin (or Lifeboat itself, for a
 * prediction or {@code lifeboat evacuate}) drains it: {@code scontrol update nodename=X state=drain}
 * is seen within one poll interval. The agent polls rather than relying on a {@code strigger} on the
 * controller: it needs nothing installed there, and a lost trigger cannot leave jobs behind, as each
 * poll sees the drain again while jobs remain.
 *
 * <p>It asks Slurm only while the node holds migratable jobs: a drain of a node without any has
 * nothing to move, and on a large cluster most nodes hold none, so the load on slurmctld follows
 * the migratable jobs, not the node count (an idle node sends no request at all). A job registered
 * on a node already drained is seen at the next interval.
 */
public final class DrainWatcher implements LifeCycleComponent {

    private static final Logger LOG = Logger.getLogger(DrainWatcher.class.getName());

    private final String nodeName;
    private final SlurmClient slurm;
    private final Evacuation evacuation;
    private final Duration interval;
    private final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "lifeboat-drain-watcher");
        thread.setDaemon(true);
        return thread;
    });
    private final BooleanSupplier holdsMigratableJobs;
    private volatile ScheduledFuture<?> polls;
    private boolean leaving;
    private String lastError = "";

    /** What the watcher does while its node is leaving; {@link Evacuator} moves the jobs. */
    @FunctionalInterface
    public interface Evacuation {
        void evacuate(String reason);
    }

    /** @param holdsMigratableJobs whether any migratable job is registered on this node now */
    public DrainWatcher(String nodeName, SlurmClient slurm, Evacuation evacuation, Duration interval,
                        BooleanSupplier holdsMigratableJobs) {
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
        this.holdsMigratableJobs = Objects.requireNonNull(holdsMigratableJobs, "holdsMigratableJobs");
        this.slurm = Objects.requireNonNull(slurm, "slurm");
        this.evacuation = Objects.requireNonNull(evacuation, "evacuation");
        this.interval = Objects.requireNonNull(interval, "interval");
    }

    @Override
    public void start() {
        polls = poller.scheduleWithFixedDelay(this::poll, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * For the watchdog: the polls end before a stop only when one throws (the scheduler runs a task
     * that threw no more), and then a drain would never be seen.
     */
    public Liveness polling() {
        return () -> {
            ScheduledFuture<?> scheduled = polls;
            if (scheduled == null || !scheduled.isDone() || poller.isShutdown()) {
                return Optional.empty();
            }
            try {
                scheduled.get();
                return Optional.of("the drain watcher no longer polls Slurm");
            } catch (ExecutionException e) {
                return Optional.of("the drain watcher no longer polls Slurm: its poll failed with " + e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.of("the drain watcher no longer polls Slurm");
            }
        };
    }

    @Override
    public void stop() throws IOException {
        poller.shutdownNow();
        try {
            poller.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One look at the node; package-private so tests can step it without a timer. */
    void poll() {
        if (!holdsMigratableJobs.getAsBoolean()) {
            // Nothing to move: the state is not asked, and is told afresh once a job registers.
            leaving = false;
            return;
        }
        String state;
        try {
            state = slurm.nodeState(nodeName);
            lastError = "";
        } catch (CommandException e) {
            // Said once per distinct failure, not every second while the controller is away.
            if (!e.getMessage().equals(lastError)) {
                LOG.warning("cannot read the state of " + nodeName + " from Slurm: " + e.getMessage());
                lastError = e.getMessage();
            }
            return;
        }
        boolean nowLeaving = SlurmClient.isLeaving(state);
        if (nowLeaving && !leaving) {
            LOG.info(nodeName + " is " + state + " in Slurm: evacuating its migratable jobs");
        }
        leaving = nowLeaving;
        if (nowLeaving) {
            // Every poll while drained: jobs that found no target last time may find one now.
            evacuation.evacuate("drain");
        }
    }
}
