package org.lifeboat.predictor;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.Executor;
import java.util.logging.Logger;
import org.lifeboat.predictor.Evacuator.Cancellation;
import org.lifeboat.predictor.PredictionOutcomes.Outcome;

/**
 * Decides what each prediction and withdrawal means for its node, and makes at most one evacuation of it.
 *
 * <ul>
 *   <li>Confidence below the threshold: recorded (log, metric, the recent list), nothing else.</li>
 *   <li>At or above it, for a node not under evacuation: the node is drained, unless someone else has
 *       drained it already, and the evacuator is told once.</li>
 *   <li>For a node already under evacuation (the same alert repeated, another alert, another source,
 *       a prediction returning within the hold-down): joined to it; an earlier deadline is passed on.</li>
 *   <li>A node's case ends, and a later prediction starts a new evacuation, once its predicted failure
 *       is past (the deadline, seen at that prediction) or once the node is back in service after the
 *       case's drain (an administrator resumed it and jobs may run there again, which the new prediction
 *       must protect; seen by {@link #endCasesBackInService}, so the node no longer counts as evacuating).</li>
 *   <li>When the last active prediction of a node is withdrawn, the node stays under evacuation for the
 *       hold-down, so that a flapping alert causes one evacuation. Then the evacuator cancels what has not
 *       started; if nothing had, Lifeboat's own drain is undone (an administrator's never is); if something
 *       had, the node stays drained for an administrator to look at.</li>
 * </ul>
 *
 * <p>Thread-safe. Decisions are taken under one lock and are quick; the drains and evacuator calls they
 * lead to are handed, in decision order, to {@code actions}, which must run one task at a time in order
 * (a single-thread executor; tests pass {@code Runnable::run}). So a slow {@code scontrol} never holds up
 * an HTTP intake, and a node's drain, evacuation, cancellation and undrain never overtake each other.
 * Time comes from the injected clock; {@link #expireHoldDowns} is called periodically.
 */
public final class PredictionBook {

    /**
     * Active predictions kept per node. Alert fingerprints come from outside, so the number is bounded;
     * a prediction beyond it still joins the evacuation, it just cannot hold the node on its own.
     */
    static final int MAX_PREDICTIONS_PER_NODE = 64;
    /** Low-confidence predictions kept for {@link #snapshot}. */
    static final int RECENTLY_RECORDED = 100;
    // Slurm shows the reason in one line of sinfo -R; longer reasons are cut.
    private static final int MAX_DRAIN_REASON_LENGTH = 200;
    private static final Logger LOG = Logger.getLogger(PredictionBook.class.getName());

    private final double confidenceThreshold;
    private final Duration holdDown;
    private final NodeDrainer drainer;
    private final Evacuator evacuator;
    private final PredictionOutcomes outcomes;
    private final Executor actions;
    private final Clock clock;
    private final Object lock = new Object();
    private final Map<String, NodeCase> cases = new TreeMap<>();
    private final Deque<Prediction> recentlyRecorded = new ArrayDeque<>();

    public PredictionBook(double confidenceThreshold, Duration holdDown, NodeDrainer drainer, Evacuator evacuator,
                          PredictionOutcomes outcomes, Executor actions, Clock clock) {
        if (!(confidenceThreshold >= 0 && confidenceThreshold <= 1)) {
            throw new IllegalArgumentException("confidenceThreshold must be between 0 and 1, got " + confidenceThreshold);
        }
        this.confidenceThreshold = confidenceThreshold;
        this.holdDown = Objects.requireNonNull(holdDown, "holdDown");
        this.drainer = Objects.requireNonNull(drainer, "drainer");
        this.evacuator = Objects.requireNonNull(evacuator, "evacuator");
        this.outcomes = Objects.requireNonNull(outcomes, "outcomes");
        this.actions = Objects.requireNonNull(actions, "actions");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** What the book made of a prediction or a withdrawal; its label is what the HTTP intakes answer. */
    public enum Decision {
        /** Below the confidence threshold: recorded only. */
        RECORDED,
        /** The node's evacuation was started (the drain and the evacuator run right after). */
        EVACUATION_STARTED,
        /** The node was already under evacuation; this prediction joined it. */
        DEDUPLICATED,
        /** Withdrawn, but other predictions still hold the node. */
        STILL_PREDICTED,
        /** The node's last prediction was withdrawn; its evacuation is cancelled when the hold-down passes without a new one. */
        HELD_DOWN,
        /** The node's last prediction was withdrawn and, with no hold-down, its evacuation is being cancelled now. */
        CANCELLING,
        /** Nothing active under that key (never predicted, below the threshold, or already withdrawn). */
        NOTHING_TO_WITHDRAW;

        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    public Decision submit(Prediction prediction) {
        Objects.requireNonNull(prediction, "prediction");
        String source = prediction.source().label();
        if (prediction.confidence() < confidenceThreshold) {
            synchronized (lock) {
                if (recentlyRecorded.size() == RECENTLY_RECORDED) {
                    recentlyRecorded.removeFirst();
                }
                recentlyRecorded.addLast(prediction);
            }
            LOG.info("recorded only (confidence " + prediction.confidence() + " < " + confidenceThreshold + "): " + describe(prediction));
            outcomes.record(source, Outcome.RECORDED.label());
            return Decision.RECORDED;
        }
        // Asked outside the lock (scontrol is slow), and only of a case whose drain is done.
        NodeCase drained;
        synchronized (lock) {
            drained = cases.get(prediction.node());
        }
        boolean backInService = drained != null && drained.drainDone && inService(prediction.node());
        synchronized (lock) {
            NodeCase existing = cases.get(prediction.node());
            Instant now = clock.instant();
            if (existing != null && (!now.isBefore(existing.deadline) || existing == drained && backInService)) {
                end(existing, (now.isBefore(existing.deadline) ? "the node is back in service" : "its deadline "
                        + existing.deadline + " has passed"), ": a new prediction starts a new one");
                existing = null;
            }
            if (existing == null) {
                NodeCase started = new NodeCase(prediction);
                cases.put(prediction.node(), started);
                LOG.warning("evacuating " + prediction.node() + ": " + describe(prediction));
                actions.execute(() -> startEvacuation(started, prediction));
                return Decision.EVACUATION_STARTED;
            }
            if (existing.quietSince != null) {
                LOG.info("a prediction for " + prediction.node() + " returned within the hold-down; the evacuation goes on: "
                        + describe(prediction));
                existing.quietSince = null;
            }
            if (existing.active.containsKey(prediction.dedupKey()) || existing.active.size() < MAX_PREDICTIONS_PER_NODE) {
                existing.active.put(prediction.dedupKey(), prediction);
            }
            outcomes.record(source, Outcome.DEDUPLICATED.label());
            if (prediction.deadline().isBefore(existing.deadline)) {
                existing.deadline = prediction.deadline();
                LOG.warning("failure of " + prediction.node() + " now expected by " + prediction.deadline() + ": " + describe(prediction));
                actions.execute(() -> advanceDeadline(prediction));
            }
            return Decision.DEDUPLICATED;
        }
    }

    /** Withdraws one prediction (a resolved alert): by its node and dedup key. */
    public Decision withdraw(String node, String dedupKey, PredictionSource source) {
        synchronized (lock) {
            NodeCase nodeCase = cases.get(node);
            if (nodeCase == null || nodeCase.active.remove(dedupKey) == null) {
                return Decision.NOTHING_TO_WITHDRAW;
            }
            return afterWithdrawal(nodeCase, source);
        }
    }

    /** Withdraws every active prediction for a node, from any source: an operator's "this node is fine". */
    public Decision withdrawAll(String node, PredictionSource source) {
        synchronized (lock) {
            NodeCase nodeCase = cases.get(node);
            if (nodeCase == null || nodeCase.active.isEmpty()) {
                return Decision.NOTHING_TO_WITHDRAW;
            }
            nodeCase.active.clear();
            return afterWithdrawal(nodeCase, source);
        }
    }

    /** Cancels the evacuation of every node whose last prediction was withdrawn at least a hold-down ago. */
    public void expireHoldDowns() {
        synchronized (lock) {
            Instant now = clock.instant();
            for (Iterator<NodeCase> iterator = cases.values().iterator(); iterator.hasNext(); ) {
                NodeCase nodeCase = iterator.next();
                if (nodeCase.quietSince != null && !now.isBefore(nodeCase.quietSince.plus(holdDown))) {
                    iterator.remove();
                    LOG.info("no prediction for " + nodeCase.node + " since " + nodeCase.quietSince + ": cancelling its evacuation");
                    actions.execute(() -> cancelEvacuation(nodeCase));
                }
            }
        }
    }

    /**
     * Ends the case of every node an administrator has put back in service since its drain
     * ({@code scontrol update state=resume}): the node takes jobs again, so it is no longer under
     * evacuation, and the jobs started there since are not reported as stuck on a node being emptied.
     * Called periodically; asks Slurm only of the cases whose drain is done, outside the lock.
     */
    public void endCasesBackInService() {
        List<NodeCase> drained;
        synchronized (lock) {
            drained = cases.values().stream().filter(nodeCase -> nodeCase.drainDone).toList();
        }
        for (NodeCase nodeCase : drained) {
            if (inService(nodeCase.node)) {
                synchronized (lock) {
                    // A withdrawal's expiry or a new prediction may have ended it meanwhile.
                    if (cases.get(nodeCase.node) == nodeCase) {
                        end(nodeCase, "the node is back in service", "");
                    }
                }
            }
        }
    }

    /**
     * Whether the node is under evacuation for a predicted failure: from the prediction that started
     * it until its last prediction was withdrawn and the hold-down passed, or the node was resumed
     * after its drain (or a new case replaced it).
     */
    public boolean evacuating(String node) {
        synchronized (lock) {
            return cases.containsKey(node);
        }
    }

    /** The book as it stands, for the HTTP API and tests. */
    public Snapshot snapshot() {
        synchronized (lock) {
            List<NodeState> nodes = new ArrayList<>();
            cases.values().forEach(nodeCase -> nodes.add(new NodeState(nodeCase.node, nodeCase.deadline,
                    List.copyOf(nodeCase.active.values()), nodeCase.quietSince)));
            return new Snapshot(nodes, List.copyOf(recentlyRecorded));
        }
    }

    /** The nodes under evacuation and the predictions recently recorded below the threshold. */
    public record Snapshot(List<NodeState> evacuating, List<Prediction> recentlyRecorded) {}

    /** One node under evacuation: its earliest deadline, its active predictions, and since when none has been active. */
    public record NodeState(String node, Instant deadline, List<Prediction> predictions, Instant quietSince) {}

    private Decision afterWithdrawal(NodeCase nodeCase, PredictionSource source) {
        if (!nodeCase.active.isEmpty()) {
            return Decision.STILL_PREDICTED;
        }
        nodeCase.quietSince = clock.instant();
        nodeCase.withdrawnBy = source;
        if (holdDown.isZero()) {
            expireHoldDowns();
            return Decision.CANCELLING;
        }
        LOG.info("last prediction for " + nodeCase.node + " withdrawn (" + source.label() + "); its evacuation is cancelled in "
                + Durations.format(holdDown) + " unless a new one arrives");
        return Decision.HELD_DOWN;
    }

    /** Removes a case that is over before its predictions were withdrawn; called under the lock. */
    private void end(NodeCase nodeCase, String why, String then) {
        cases.remove(nodeCase.node);
        LOG.info("the earlier evacuation of " + nodeCase.node + " is over (" + why + ")" + then);
        actions.execute(() -> endEvacuation(nodeCase));
    }

    private boolean inService(String node) {
        try {
            return drainer.inService(node);
        } catch (NodeActionException e) {
            // Not knowing, the case goes on: the prediction joins it as before.
            LOG.warning("cannot read the state of " + node + ": " + e.getMessage());
            return false;
        }
    }

    // The actions below run on the actions executor, one at a time, in the order decided.

    /**
     * A case that is over before its prediction was withdrawn: whatever it left queued is dropped
     * (its jobs are the new case's now), and the node's state is the administrator's.
     */
    private void endEvacuation(NodeCase nodeCase) {
        try {
            evacuator.cancel(nodeCase.node);
        } catch (NodeActionException e) {
            LOG.warning("cannot close the earlier evacuation of " + nodeCase.node + ": " + e.getMessage());
        }
    }

    private void startEvacuation(NodeCase nodeCase, Prediction prediction) {
        String source = prediction.source().label();
        String node = prediction.node();
        try {
            if (drainer.drainedByOthers(node)) {
                LOG.info(node + " is already drained by someone else; Lifeboat leaves that drain as it is");
            } else {
                drainer.drain(node, drainReason(prediction));
                nodeCase.drainedByLifeboat = true;
            }
            nodeCase.drainDone = true;
        } catch (NodeActionException e) {
            LOG.severe("cannot drain " + node + ", evacuating it anyway: " + e.getMessage());
            outcomes.record(source, Outcome.DRAIN_FAILED.label());
        }
        try {
            evacuator.evacuate(new Evacuation(node, prediction.deadline(), prediction.reason(), prediction.source()));
            outcomes.record(source, Outcome.EVACUATION_STARTED.label());
        } catch (NodeActionException e) {
            LOG.severe("cannot evacuate " + node + ": " + e.getMessage());
            outcomes.record(source, Outcome.EVACUATION_FAILED.label());
        }
    }

    private void advanceDeadline(Prediction prediction) {
        try {
            evacuator.deadlineAdvanced(prediction.node(), prediction.deadline());
        } catch (NodeActionException e) {
            LOG.severe("cannot re-plan the evacuation of " + prediction.node() + " for " + prediction.deadline() + ": " + e.getMessage());
            outcomes.record(prediction.source().label(), Outcome.EVACUATION_FAILED.label());
        }
    }

    private void cancelEvacuation(NodeCase nodeCase) {
        String source = nodeCase.withdrawnBy.label();
        String node = nodeCase.node;
        Cancellation cancellation;
        try {
            cancellation = evacuator.cancel(node);
        } catch (NodeActionException e) {
            // Not knowing whether anything moved, the node is not given back.
            LOG.severe("cannot cancel the evacuation of " + node + "; it stays drained: " + e.getMessage());
            outcomes.record(source, Outcome.EVACUATION_FAILED.label());
            return;
        }
        if (cancellation == Cancellation.AFTER_MIGRATIONS_STARTED) {
            LOG.warning("evacuation of " + node + " cancelled after jobs had started to move: the node stays drained; "
                    + "resume it with scontrol once it has been checked");
            outcomes.record(source, Outcome.CANCELLED_AFTER_MIGRATION.label());
            return;
        }
        if (nodeCase.drainedByLifeboat) {
            try {
                if (drainer.drainedByOthers(node)) {
                    LOG.info(node + " was drained again by someone else meanwhile; that drain stays");
                } else {
                    drainer.undrain(node);
                    LOG.info("evacuation of " + node + " cancelled before any job moved; Lifeboat's drain undone");
                }
            } catch (NodeActionException e) {
                LOG.severe("cannot undo Lifeboat's drain of " + node + ": " + e.getMessage());
                outcomes.record(source, Outcome.DRAIN_FAILED.label());
                return;
            }
        }
        outcomes.record(source, Outcome.CANCELLED.label());
    }

    private static String drainReason(Prediction prediction) {
        String reason = NodeDrainer.REASON_PREFIX + "failure predicted by " + prediction.deadline()
                + " (" + prediction.source().label() + ": " + prediction.reason() + ")";
        return Prediction.oneShortLine(reason, MAX_DRAIN_REASON_LENGTH);
    }

    private static String describe(Prediction prediction) {
        return prediction.node() + " by " + prediction.deadline() + ", confidence " + prediction.confidence() + ", "
                + prediction.source().label() + " [" + prediction.dedupKey() + "]: " + prediction.reason();
    }

    /** A node under evacuation. Guarded by the book's lock, except {@code drainedByLifeboat}, which only actions touch. */
    private static final class NodeCase {

        final String node;
        final Map<String, Prediction> active = new LinkedHashMap<>();
        Instant deadline;
        // Null while any prediction is active; when the last one was withdrawn otherwise.
        Instant quietSince;
        PredictionSource withdrawnBy;
        // Actions run one at a time but not always on the same thread: volatile makes each see the last one's write.
        volatile boolean drainedByLifeboat;
        // The node was drained for this case (by Lifeboat or already by others): from then on, a node
        // in service again means someone resumed it.
        volatile boolean drainDone;

        NodeCase(Prediction first) {
            this.node = first.node();
            this.deadline = first.deadline();
            active.put(first.dedupKey(), first);
        }
    }
}
