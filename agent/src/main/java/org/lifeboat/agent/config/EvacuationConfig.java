package org.lifeboat.agent.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Duration;
import java.util.Objects;

/** The {@code evacuation:} section: how a draining node's jobs are moved off. */
public final class EvacuationConfig {

    // Two at once keep a 2-core node's CPU and link busy without slowing each move down much.
    private static final int DEFAULT_CONCURRENCY = 2;
    // An admin's drain is acted on within about a second, at the cost of one scontrol call a second.
    private static final long DEFAULT_DRAIN_POLL_MILLIS = 1000;
    // A job that could not move (no target, rolled back) is frozen again by each try: not more than once a minute.
    private static final long DEFAULT_RETRY_PAUSE_SECONDS = 60;

    private final int concurrency;
    private final Duration drainPollInterval;
    private final Duration retryPause;

    /** Null arguments take the defaults, so a missing key in the file and a missing argument mean the same. */
    @JsonCreator
    public EvacuationConfig(@JsonProperty("concurrency") Integer concurrency,
                            @JsonProperty("drain-poll-millis") Long drainPollMillis,
                            @JsonProperty("retry-pause-seconds") Long retryPauseSeconds) {
        this.concurrency = concurrency == null ? DEFAULT_CONCURRENCY
                : (int) ConfigValues.requireAtLeast("evacuation.concurrency", concurrency, 1);
        this.drainPollInterval = Duration.ofMillis(drainPollMillis == null ? DEFAULT_DRAIN_POLL_MILLIS
                : ConfigValues.requireAtLeast("evacuation.drain-poll-millis", drainPollMillis, 100));
        this.retryPause = Duration.ofSeconds(retryPauseSeconds == null ? DEFAULT_RETRY_PAUSE_SECONDS
                : ConfigValues.requireAtLeast("evacuation.retry-pause-seconds", retryPauseSeconds, 1));
    }

    public static EvacuationConfig defaults() {
        return new EvacuationConfig(null, null, null);
    }

    /** How many jobs leave the node at the same time. */
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

    @Override
    public boolean equals(Object other) {
        return other instanceof EvacuationConfig that
                && concurrency == that.concurrency
                && drainPollInterval.equals(that.drainPollInterval)
                && retryPause.equals(that.retryPause);
    }

    @Override
    public int hashCode() {
        return Objects.hash(concurrency, drainPollInterval, retryPause);
    }

    @Override
    public String toString() {
        return "EvacuationConfig[concurrency=" + concurrency + ", drainPollInterval=" + drainPollInterval
                + ", retryPause=" + retryPause + "]";
    }
}
