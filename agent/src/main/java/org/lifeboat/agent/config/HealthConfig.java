package org.lifeboat.agent.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Duration;
import java.util.Objects;

/** The {@code health:} section: how often the agent checks what it depends on, and what counts as ready. */
public final class HealthConfig {

    // A dependency lost is on /health and the gauges within a minute; a round costs a `criu --version`, one
    // MUNGE credential and one `scontrol ping`: one request a minute per node is all slurmctld hears from
    // an agent whose node holds no migratable job (the drain watcher asks nothing then).
    private static final Duration DEFAULT_INTERVAL = Duration.ofMinutes(1);
    // Less than this free and nothing but a trivial job fits: the directory counts as full. Kept low, so that
    // a tmpfs busy with an incoming job of ordinary size does not read as broken.
    private static final long DEFAULT_CHECKPOINT_MIN_FREE_BYTES = 64L << 20;

    private final Duration interval;
    private final long checkpointMinFreeBytes;

    /** Null arguments take the defaults, so a missing key in the file and a missing argument mean the same. */
    @JsonCreator
    public HealthConfig(@JsonProperty("interval") String interval,
                        @JsonProperty("checkpoint-min-free-bytes") Long checkpointMinFreeBytes) {
        this.interval = DurationKeys.read("health.interval", interval, DEFAULT_INTERVAL, Duration.ofSeconds(1));
        this.checkpointMinFreeBytes = checkpointMinFreeBytes == null ? DEFAULT_CHECKPOINT_MIN_FREE_BYTES
                : ConfigValues.requireAtLeast("health.checkpoint-min-free-bytes", checkpointMinFreeBytes, 0);
    }

    public static HealthConfig defaults() {
        return new HealthConfig(null, null);
    }

    /** How long the agent waits between two rounds of dependency checks. */
    public Duration interval() {
        return interval;
    }

    /** The checkpoint directory is ready only with at least this many bytes free. */
    public long checkpointMinFreeBytes() {
        return checkpointMinFreeBytes;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof HealthConfig that
                && interval.equals(that.interval)
                && checkpointMinFreeBytes == that.checkpointMinFreeBytes;
    }

    @Override
    public int hashCode() {
        return Objects.hash(interval, checkpointMinFreeBytes);
    }

    @Override
    public String toString() {
        return "HealthConfig[interval=" + interval + ", checkpointMinFreeBytes=" + checkpointMinFreeBytes + "]";
    }
}
