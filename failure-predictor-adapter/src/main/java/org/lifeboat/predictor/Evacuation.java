package org.lifeboat.predictor;

import java.time.Instant;
import java.util.Objects;

/**
 * An order to move every migratable job off a node before it fails.
 *
 * @param node     the node predicted to fail
 * @param deadline when it is expected to fail: the evacuator orders jobs so the most urgent go first
 *                 (see {@code org.lifeboat.predictor.plan.EvacuationPlanner}) and checkpoints to shared
 *                 storage those that cannot move in time
 * @param reason   why, for logs and job records
 * @param source   the source of the prediction that started it
 */
public record Evacuation(String node, Instant deadline, String reason, PredictionSource source) {

    public Evacuation {
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(deadline, "deadline");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(source, "source");
    }
}
