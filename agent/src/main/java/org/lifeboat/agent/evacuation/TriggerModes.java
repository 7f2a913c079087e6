package org.lifeboat.agent.evacuation;

import java.util.Objects;
import org.lifeboat.agent.migration.TransferMode;

/**
 * How an evacuation moves a job, by what set it off: a drain, or a predicted failure of the node.
 * A predicted failure never moves a job post-copy when its memory is not expected to have crossed
 * before the deadline: the node would fail in the lazy phase and take the job's memory with it,
 * where a diskless move that fails rolls back and leaves the job running, frozen for nothing at worst.
 *
 * @param drain how a drain's jobs move (evacuation.drain-transfer-mode)
 * @param prediction how jobs move once a failure is predicted, the prediction's own drain included
 *     (evacuation.prediction-transfer-mode)
 */
public record TriggerModes(TransferMode drain, TransferMode prediction) {

    public TriggerModes {
        Objects.requireNonNull(drain, "drain");
        Objects.requireNonNull(prediction, "prediction");
    }

    /**
     * @param failureExpected whether a failure of this node is predicted now
     * @param tooLateForTheDeadline whether the prediction's plan says the job's memory cannot cross before the deadline
     */
    public TransferMode forJob(boolean failureExpected, boolean tooLateForTheDeadline) {
        if (!failureExpected) {
            return drain;
        }
        return prediction == TransferMode.POST_COPY && tooLateForTheDeadline ? TransferMode.DISKLESS : prediction;
    }

    /** Whether the plan's verdict matters: only post-copy is refused to a job too big for the deadline. */
    boolean refusesPostCopyWhenLate() {
        return prediction == TransferMode.POST_COPY;
    }
}
