package org.lifeboat.predictor.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Duration;

/**
 * The {@code predictor.planning:} section: the figures the evacuation planner works with. They are
 * configured, never measured by the agent: a site whose link differs from the default sets its own
 * (the README's benchmarks show how to measure it).
 *
 * <p>How many jobs move at once is not planning's to say: the agent's {@code evacuation.concurrency} is,
 * and the planner is given it (see {@code EvacuationPlanner.from}).
 *
 * @param linkBytesPerSecond what the node's link carries for migrations, all concurrent ones together
 * @param migrationOverhead  the fixed cost of one migration besides its memory (freeze, image tar, restore set-up)
 */
public record PlanningConfig(long linkBytesPerSecond, Duration migrationOverhead) {

    // The diskless relay measured about 260-270 MB/s on the testbed (README); a little below it.
    static final long DEFAULT_LINK_BYTES_PER_SECOND = 250_000_000L;
    // Measured agent overhead plus restore set-up: about 0.5-0.7 s on the testbed, rounded up for busier nodes.
    static final Duration DEFAULT_MIGRATION_OVERHEAD = Duration.ofSeconds(2);

    @JsonCreator
    public static PlanningConfig fromFile(
            @JsonProperty("link-bytes-per-second") Long linkBytesPerSecond,
            @JsonProperty("migration-overhead") String migrationOverhead) {
        return new PlanningConfig(
                ConfigValues.positive("planning.link-bytes-per-second", linkBytesPerSecond, DEFAULT_LINK_BYTES_PER_SECOND),
                ConfigValues.duration("planning.migration-overhead", migrationOverhead, DEFAULT_MIGRATION_OVERHEAD, Duration.ZERO));
    }

    public static PlanningConfig defaults() {
        return fromFile(null, null);
    }
}
