package org.lifeboat.agent.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/** The {@code evacuation:} section: how a draining node's jobs are moved off. */
public final class EvacuationConfig {

    // Two at once keep a 2-core node's CPU and link busy without slowing each move down much, and
    // overlap one job's fixed overhead with the other's transfer; more only split the same link.
    private static final int DEFAULT_CONCURRENCY = 2;
    // Each migration holds a thread and a share of the link; beyond this it is a typo, not a plan.
    private static final int MOST_CONCURRENCY = 64;
    // An admin's drain is acted on within about a second, at the cost of one scontrol call a second.
    private static final Duration DEFAULT_DRAIN_POLL = Duration.ofSeconds(1);
    private static final Duration SHORTEST_DRAIN_POLL = Duration.ofMillis(100);
    // A job that could not move (no target, rolled back) is frozen again by each try: not more than once a minute.
    private static final Duration DEFAULT_RETRY_PAUSE = Duration.ofMinutes(1);
    private static final Duration SHORTEST_RETRY_PAUSE = Duration.ofSeconds(1);

    private final int concurrency;
    private final Duration drainPollInterval;
    private final Duration retryPause;
    private final String drainTransferMode;
    private final String predictionTransferMode;

    /**
     * Null arguments take the defaults, so a missing key in the file and a missing argument mean the same.
     * The durations are written as in the file, e.g. {@code 500ms}, {@code 2m}.
     */
    @JsonCreator
    public EvacuationConfig(@JsonProperty("concurrency") Integer concurrency,
                            @JsonProperty("drain-poll") String drainPoll,
                            @JsonProperty("retry-pause") String retryPause,
                            @JsonProperty("drain-transfer-mode") String drainTransferMode,
                            @JsonProperty("prediction-transfer-mode") String predictionTransferMode) {
        this.concurrency = concurrency == null ? DEFAULT_CONCURRENCY : requireConcurrency(concurrency);
        this.drainPollInterval = DurationKeys.read("evacuation.drain-poll", drainPoll, DEFAULT_DRAIN_POLL, SHORTEST_DRAIN_POLL);
        this.retryPause = DurationKeys.read("evacuation.retry-pause", retryPause, DEFAULT_RETRY_PAUSE, SHORTEST_RETRY_PAUSE);
        // Checked by AgentConfig, which knows whether a shared directory is set.
        this.drainTransferMode = drainTransferMode;
        this.predictionTransferMode = predictionTransferMode;
    }

    /** As before per-trigger modes: both triggers take the agent's transfer-mode. */
    public EvacuationConfig(Integer concurrency, String drainPoll, String retryPause) {
        this(concurrency, drainPoll, retryPause, null, null);
    }

    public static EvacuationConfig defaults() {
        return new EvacuationConfig(null, null, null, null, null);
    }

    /** How a drain's jobs move, if set apart from the agent's transfer-mode. */
    public Optional<String> drainTransferMode() {
        return Optional.ofNullable(drainTransferMode);
    }

    /** How a predicted failure's jobs move, if set apart from the agent's transfer-mode. */
    public Optional<String> predictionTransferMode() {
        return Optional.ofNullable(predictionTransferMode);
    }

    /**
     * How many jobs leave the node at the same time: the evacuator's threads, and so also the lanes a
     * predicted evacuation is planned with (which predictor.planning.max-concurrent-migrations used to set apart).
     */
    public int concurrency() {
        return concurrency;
    }

    /** How often the agent reads its node's state in Slurm to notice a drain. */
    public Duration drainPollInterval() {
        return drainPollInterval;
    }

    /** How long a job that could not move waits before the next try. */
    public Duration retryPause() {
        return retryPause;
    }

    private static int requireConcurrency(int concurrency) {
        if (concurrency < 1 || concurrency > MOST_CONCURRENCY) {
            throw new InvalidConfigValueException("evacuation.concurrency",
                    "must be between 1 and " + MOST_CONCURRENCY + ", got " + concurrency);
        }
        return concurrency;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof EvacuationConfig that
                && concurrency == that.concurrency
                && drainPollInterval.equals(that.drainPollInterval)
                && retryPause.equals(that.retryPause)
                && Objects.equals(drainTransferMode, that.drainTransferMode)
                && Objects.equals(predictionTransferMode, that.predictionTransferMode);
    }

    @Override
    public int hashCode() {
        return Objects.hash(concurrency, drainPollInterval, retryPause, drainTransferMode, predictionTransferMode);
    }

    @Override
    public String toString() {
        return "EvacuationConfig[concurrency=" + concurrency + ", drainPollInterval=" + drainPollInterval
                + ", retryPause=" + retryPause + "]";
    }
}
