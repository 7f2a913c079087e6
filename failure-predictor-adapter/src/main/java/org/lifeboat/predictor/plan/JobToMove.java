package org.lifeboat.predictor.plan;

import java.util.Objects;

/** A migratable job on the node to evacuate, with the memory its migration has to carry. */
public record JobToMove(String jobId, long memoryBytes) {

    public JobToMove {
        Objects.requireNonNull(jobId, "jobId");
        if (memoryBytes < 0) {
            throw new IllegalArgumentException("memoryBytes must not be negative, got " + memoryBytes);
        }
    }
}
