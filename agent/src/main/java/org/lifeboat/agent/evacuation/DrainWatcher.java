package org.lifeboat.agent.evacuation;

import java.time.Duration;
import java.util.Objects;
import java.util.logging.Logger;
import org.lifeboat.agent.lifecycle.LifeCycleComponent;
import org.lifeboat.agent.lifecycle.PeriodicTask;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.slurm.SlurmClient;

/**
 * Watches this node's state in Slurm and evacuates it when an admin (or Lifeboat itself, for a
 * prediction or {@code lifeboat evacuate}) drains it: {@code scontrol update nodename=X state=drain}
 * is seen within one poll interval. The agent polls rather than relying on a {@code strigger} on the
 * controller: it needs nothing installed there, and a lost trigger cannot leave jobs behind, as each
 * poll sees the drain again while jobs remain.
 */
public final class DrainWatcher implements LifeCycleComponent {

    private static final Logger LOG = Logger.getLogger(DrainWatcher.class.getName());

    private final String nodeName;
    private final SlurmClient slurm;
    private final Evacuation evacuation;
    private final PeriodicTask poller;
    // Written by the poller, read by scrapes (lifeboat_node_draining).
    private volatile boolean leaving;
    private String lastError = "";

    /** What the watcher does while its node is leaving; {@link Evacuator} moves the jobs. */
    @FunctionalInterface
    public interface Evacuation {
        void evacuate(String reason);
    }

    public DrainWatcher(String nodeName, SlurmClient slurm, Evacuation evacuation, Duration interval) {
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
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

    /**
     * Whether Slurm, at the last poll that reached it, showed the node drained, draining, down or
     * failing: while it does, the agent evacuates the node. False until a poll has reached Slurm.
     */
    public boolean nodeLeaving() {
        return leaving;
    }

    /** One look at the node; package-private so tests can step it without a timer. */
    void poll() {
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
