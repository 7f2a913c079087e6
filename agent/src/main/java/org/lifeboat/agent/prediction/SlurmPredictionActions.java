package org.lifeboat.agent.prediction;

import java.io.IOException;
import java.time.Instant;
import java.util.Objects;
import java.util.logging.Logger;
import org.lifeboat.agent.evacuation.Evacuator;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.slurm.SlurmClient;
import org.lifeboat.predictor.Evacuation;
import org.lifeboat.predictor.NodeActionException;
import org.lifeboat.predictor.NodeDirectory;
import org.lifeboat.predictor.NodeDrainer;
import org.lifeboat.predictor.plan.EvacuationPlanner;

/**
 * What the prediction book's decisions do on a real cluster. A prediction drains its node in Slurm
 * (for any node: one agent may receive every alert), and the drain is what moves the jobs: the
 * predicted node's own agent sees it within a poll and evacuates (see DrainWatcher). On this node
 * the evacuation also starts at once, without waiting for that poll. A withdrawn prediction
 * cancels this node's queued migrations; for another node, this agent cannot see whether its jobs
 * began to move, so it answers "started" and the node stays drained for an administrator.
 */
public final class SlurmPredictionActions implements NodeDirectory, NodeDrainer, org.lifeboat.predictor.Evacuator {

    private static final Logger LOG = Logger.getLogger(SlurmPredictionActions.class.getName());

    private final String localNode;
    private final SlurmClient slurm;
    private final Evacuator localEvacuator;
    private final EvacuationPlanner planner;

    public SlurmPredictionActions(String localNode, SlurmClient slurm, Evacuator localEvacuator, EvacuationPlanner planner) {
        this.localNode = Objects.requireNonNull(localNode, "localNode");
        this.slurm = Objects.requireNonNull(slurm, "slurm");
        this.localEvacuator = Objects.requireNonNull(localEvacuator, "localEvacuator");
        this.planner = Objects.requireNonNull(planner, "planner");
    }

    @Override
    public boolean exists(String node) throws IOException {
        try {
            return slurm.nodeExists(node);
        } catch (CommandException e) {
            throw new IOException("cannot ask Slurm about node " + node + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void drain(String node, String reason) throws NodeActionException {
        if (node.equals(localNode)) {
            // Before the drain, which this agent's drain watcher also acts on: a job it finds no target
            // for must be parked, not left on a node that is about to fail.
            localEvacuator.failureExpected();
        }
        try {
            slurm.drain(node, reason);
        } catch (CommandException e) {
            throw new NodeActionException("cannot drain " + node + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void undrain(String node) throws NodeActionException {
        try {
            slurm.resume(node);
        } catch (CommandException e) {
            throw new NodeActionException("cannot resume " + node + ": " + e.getMessage(), e);
        }
    }

    @Override
    public boolean drainedByOthers(String node) throws NodeActionException {
        try {
            return SlurmClient.isLeaving(slurm.nodeState(node)) && !slurm.nodeReason(node).startsWith(REASON_PREFIX);
        } catch (CommandException e) {
            throw new NodeActionException("cannot read the state of " + node + ": " + e.getMessage(), e);
        }
    }

    @Override
    public boolean inService(String node) throws NodeActionException {
        try {
            return !SlurmClient.isLeaving(slurm.nodeState(node));
        } catch (CommandException e) {
            throw new NodeActionException("cannot read the state of " + node + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void evacuate(Evacuation evacuation) {
        if (evacuation.node().equals(localNode)) {
            localEvacuator.evacuate("prediction from " + evacuation.source() + ", deadline " + evacuation.deadline()
                    + ": " + evacuation.reason(), planner, evacuation.deadline());
        } else {
            LOG.info("prediction for " + evacuation.node() + " (" + evacuation.reason() + "): its agent evacuates it on the drain");
        }
    }

    @Override
    public void deadlineAdvanced(String node, Instant deadline) {
        LOG.info("the predicted failure of " + node + " is now expected by " + deadline
                + "; jobs leave in the order they are queued, as fast as they can");
    }

    @Override
    public Cancellation cancel(String node) {
        if (!node.equals(localNode)) {
            return Cancellation.AFTER_MIGRATIONS_STARTED;
        }
        return localEvacuator.cancelPending() ? Cancellation.AFTER_MIGRATIONS_STARTED : Cancellation.BEFORE_ANY_MIGRATION;
    }
}
