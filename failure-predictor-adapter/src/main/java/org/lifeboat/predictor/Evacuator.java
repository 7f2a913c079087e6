package org.lifeboat.predictor;

import java.time.Instant;

/**
 * Moves jobs off a node predicted to fail: the agent's evacuation code (drain-triggered migration,
 * Slurm choosing the targets) implements it. The prediction book calls it at most once per
 * evacuation however many predictions, repeats and sources point at the node, and always from one
 * thread at a time, in the order it decided.
 */
public interface Evacuator {

    /** Starts evacuating the node; returns without waiting for the migrations. */
    void evacuate(Evacuation evacuation) throws NodeActionException;

    /** A later prediction for the same node expects the failure sooner: re-plan against this deadline. */
    void deadlineAdvanced(String node, Instant deadline) throws NodeActionException;

    /**
     * Every prediction for the node was withdrawn: cancel the jobs whose migration has not started
     * (those already migrating finish). Tells whether any migration had started, because only a node
     * nothing has left yet is given back to Slurm.
     */
    Cancellation cancel(String node) throws NodeActionException;

    /** What {@link #cancel} found. */
    enum Cancellation {
        /** No job had started to move: the evacuation is undone entirely. */
        BEFORE_ANY_MIGRATION,
        /** At least one job had started to move (or has moved): the node stays drained for an administrator to look at. */
        AFTER_MIGRATIONS_STARTED
    }
}
