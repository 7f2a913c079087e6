package org.lifeboat.agent.evacuation;

import java.time.Duration;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.logging.Logger;
import org.lifeboat.agent.lifecycle.LifeCycleComponent;
import org.lifeboat.agent.lifecycle.Liveness;
import org.lifeboat.agent.lifecycle.PeriodicTask;
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
    /** A poll is a scontrol call (with its own time limit) and queueing migrations: one this long has hung. */
    static final Duration HUNG_POLL = Duration.ofMinutes(5);

    private final String nodeName;
    private final SlurmClient slurm;
    private final Evacuation evacuation;
    private final PeriodicTask poller;
    private final BooleanSupplier holdsMigratableJobs;
    // Written by the poller, read by scrapes (lifeboat_node_draining).
    private volatile boolean leaving;
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
        this.poller = new PeriodicTask("lifeboat-drain-watcher", Duration.ZERO, interval, this::poll);
    }

    @Override
    public void start() {
        poller.start();
    }

    @Override
    public void stop() {
        poller.stop();
    }

    /** For the watchdog: a poll that has not ended for {@link #HUNG_POLL} means no drain would be seen. */
    public Liveness polling() {
        return poller.liveness(HUNG_POLL);
    }

    /**
     * Whether Slurm, at the last poll that reached it, showed the node drained, draining, down or
     * failing: while it does, the agent evacuates the node. False until a poll has reached Slurm.
     */
    public boolean nodeLeaving() {
        return leaving;
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
