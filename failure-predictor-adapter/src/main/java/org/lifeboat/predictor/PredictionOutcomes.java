package org.lifeboat.predictor;

import java.util.Locale;

/**
 * Where the adapter reports what became of each prediction, for metrics: the agent passes its
 * prediction counter here ({@code PredictionMetrics::record}). Both arguments come from closed sets,
 * {@link PredictionSource#label()} and {@link Outcome#label()}, so the number of series stays fixed.
 */
@FunctionalInterface
public interface PredictionOutcomes {

    void record(String source, String outcome);

    /** What became of one prediction, cancellation or refused request. */
    enum Outcome {
        /** Below the confidence threshold: logged and kept in the book's recent list, nothing else. */
        RECORDED,
        /** The node was drained (unless someone else had drained it) and its evacuation started. */
        EVACUATION_STARTED,
        /** The node was already being evacuated: a repeat, a second source, or a return within the hold-down. */
        DEDUPLICATED,
        /** The last prediction was withdrawn, the hold-down passed, nothing had moved yet: evacuation cancelled, Lifeboat's drain undone. */
        CANCELLED,
        /** As {@link #CANCELLED}, but jobs had started moving: pending ones cancelled, the node left drained. */
        CANCELLED_AFTER_MIGRATION,
        /** Draining the node failed; the evacuation went ahead anyway. */
        DRAIN_FAILED,
        /** The evacuator refused or failed to start, re-plan or cancel. */
        EVACUATION_FAILED,
        /** Bad input: answered with a 4xx, nothing else happened. */
        REJECTED;

        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }
}
