package org.lifeboat.agent.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.BaseUnits;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.IntSupplier;
import org.lifeboat.agent.migration.FailureReason;
import org.lifeboat.agent.migration.MigrationObserver;
import org.lifeboat.agent.migration.MigrationPhase;
import org.lifeboat.agent.migration.MigrationReport;
import org.lifeboat.agent.migration.Outcome;
import org.lifeboat.agent.migration.TransferMode;
import org.lifeboat.agent.migration.WholeJobCheck;

/**
 * The migration meters, fed from each migration's report. Labels take a few fixed values (mode,
 * phase, result, reason, kind, role), never a job id: per-migration detail is in the history
 * (`lifeboat history`).
 *
 * <p>Every series of a known label set is registered at zero when the agent starts. Prometheus'
 * {@code increase()} cannot see the step from "absent" to 1, so without this a node's first
 * rollback would never fire an alert, and a dashboard would show nothing for its first migration.
 *
 * <p>Throughput has no meter of its own: it is the bytes counter divided by the time of the phases
 * that moved them ({@code lifeboat_migration_phase_seconds_sum} of dump and send-images), which
 * PromQL sums correctly over any set of nodes and any window; a per-migration rate could only be
 * averaged, weighing a 10 MiB job like a 10 GiB one.
 */
public final class MigrationMetrics implements MigrationObserver {

    static final String PHASE = "lifeboat.migration.phase";
    static final String DURATION = "lifeboat.migration.duration";
    static final String DOWNTIME = "lifeboat.migration.downtime";
    /** Post-copy: how long a job ran on its new node while part of its memory was still on the old one. */
    static final String SPLIT = "lifeboat.migration.split";
    static final String TRANSFERRED = "lifeboat.migration.transferred";
    /**
     * The memory as it crossed the link, compressed or not: against the "pages" kind of the bytes
     * counter it gives the compression. A meter of its own, so that the bytes counter sums to what
     * moved, without counting the memory twice.
     */
    static final String PAGES_ON_LINK = "lifeboat.migration.pages.on.link";
    static final String OUTCOMES = "lifeboat.migrations";
    static final String IN_FLIGHT = "lifeboat.migrations.in.flight";
    static final String TAKEN_OVER = "lifeboat.migrations.taken.over";
    static final String UNMOVABLE = "lifeboat.migrations.unmovable";
    static final String NO_REASON = "none";
    static final String PAGES = "pages";
    static final String IMAGES = "images";
    // Histogram buckets from a short phase (preparing the target, ~10 ms) to the longest a job may
    // stay frozen (CRIU's post-dump decision limit, 15 min).
    static final Duration[] BUCKETS = {
        Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100),
        Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500),
        Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofMinutes(1),
        Duration.ofMinutes(2), Duration.ofMinutes(5), Duration.ofMinutes(10), Duration.ofMinutes(15)};
    private static final List<String> RESULTS = List.of(Outcome.MIGRATED.wireName(), Outcome.ROLLED_BACK.wireName(),
            Outcome.CLEANUP_FAILED.wireName(), Outcome.LOST.wireName());

    private final MeterRegistry registry;

    public MigrationMetrics(MeterRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
        for (TransferMode transferMode : TransferMode.values()) {
            String mode = transferMode.wireName();
            for (MigrationPhase phase : MigrationPhase.values()) {
                phase(mode, phase.wireName());
            }
            RESULTS.forEach(result -> duration(mode, result));
            downtime(mode);
            transferred(mode, PAGES);
            transferred(mode, IMAGES);
            pagesOnLink(mode);
            outcomes(mode, Outcome.MIGRATED.wireName(), NO_REASON);
            for (FailureReason reason : FailureReason.values()) {
                if (reason != FailureReason.CLEANUP_FAILED) {
                    outcomes(mode, Outcome.ROLLED_BACK.wireName(), reason.wireName());
                }
            }
            outcomes(mode, Outcome.CLEANUP_FAILED.wireName(), FailureReason.CLEANUP_FAILED.wireName());
            outcomes(mode, Outcome.LOST.wireName(), FailureReason.PAGES_LOST.wireName());
        }
        split();
        takenOver();
        for (WholeJobCheck.Kind kind : WholeJobCheck.Kind.values()) {
            unmovable(kind);
        }
    }

    /** A move was refused before it began because the job cannot move whole; it keeps running here. */
    public void refusedUnmovable(WholeJobCheck.Kind kind) {
        unmovable(kind).increment();
    }

    private Counter unmovable(WholeJobCheck.Kind kind) {
        return Counter.builder(UNMOVABLE)
                .description("Moves refused before they began because the job cannot move whole from this node, by why")
                .tag("kind", kind.label())
                .register(registry);
    }

    /** This node, as a target, started a job from the copy restored here after the job's source node was lost. */
    public void tookOver() {
        takenOver().increment();
    }

    private Counter takenOver() {
        return Counter.builder(TAKEN_OVER)
                .description("Jobs this node started from a copy restored here after their source node was lost mid-migration")
                .register(registry);
    }

    /** Exposes how many migrations of this role ("source" or "target") are under way, read at each scrape. */
    public void watchInFlight(String role, IntSupplier count) {
        Objects.requireNonNull(count, "count");
        Gauge.builder(IN_FLIGHT, count::getAsInt)
                .description("Migrations under way on this node, as their source or as their target")
                .tag("role", role)
                .register(registry);
    }

    @Override
    public void migrationEnded(MigrationReport report) {
        String mode = report.mode().wireName();
        for (Map.Entry<String, Long> phase : report.phaseMillis().entrySet()) {
            phase(mode, phase.getKey()).record(Duration.ofMillis(phase.getValue()));
        }
        duration(mode, report.outcome().wireName()).record(Duration.ofMillis(report.totalMillis()));
        if (report.outcome().jobLeft()) {
            downtime(mode).record(Duration.ofMillis(report.downtimeMillis()));
        }
        if (report.mode() == TransferMode.POST_COPY && report.outcome().jobLeft()) {
            split().record(Duration.ofMillis(report.splitMillis()));
        }
        // What crossed the wire counts even when the migration was rolled back afterwards.
        transferred(mode, PAGES).increment(report.pageBytes());
        pagesOnLink(mode).increment(report.pageWireBytes());
        transferred(mode, IMAGES).increment(report.imageBytes());
        outcomes(mode, report.outcome().wireName(), report.reason() == null ? NO_REASON : report.reason().wireName()).increment();
    }

    private Timer phase(String mode, String phase) {
        return histogram(PHASE, "Time each migration phase took on the source, rolled-back migrations included")
                .tag("mode", mode)
                .tag("phase", phase)
                .register(registry);
    }

    private Timer duration(String mode, String result) {
        return histogram(DURATION, "Time a migration took from start to end, cleanup included")
                .tag("mode", mode)
                .tag("result", result)
                .register(registry);
    }

    private Timer downtime(String mode) {
        return histogram(DOWNTIME, "Time a migrated job was frozen: from the dump's start until it runs on the target")
                .tag("mode", mode)
                .register(registry);
    }

    private Timer split() {
        return histogram(SPLIT, "Post-copy: time a job ran on its new node while part of its memory was still on the old"
                + " one, from its resume there until the last page crossed; a failure of either node or of the link"
                + " between them in that time loses the job")
                .register(registry);
    }

    private static Timer.Builder histogram(String name, String description) {
        return Timer.builder(name).description(description).serviceLevelObjectives(BUCKETS);
    }

    private Counter transferred(String mode, String kind) {
        return Counter.builder(TRANSFERRED)
                .description("Bytes a migration moved to the target: memory pages, and the other image files")
                .baseUnit(BaseUnits.BYTES)
                .tag("mode", mode)
                .tag("kind", kind)
                .register(registry);
    }

    private Counter pagesOnLink(String mode) {
        return Counter.builder(PAGES_ON_LINK)
                .description("Bytes of memory pages as they crossed the link to the target, after compression if any")
                .baseUnit(BaseUnits.BYTES)
                .tag("mode", mode)
                .register(registry);
    }

    private Counter outcomes(String mode, String result, String reason) {
        return Counter.builder(OUTCOMES)
                .description("Migrations this node started, by result and by the class of what made them fail")
                .tag("mode", mode)
                .tag("result", result)
                .tag("reason", reason)
                .register(registry);
    }
}
