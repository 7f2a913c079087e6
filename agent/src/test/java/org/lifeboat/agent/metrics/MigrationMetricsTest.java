package org.lifeboat.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.migration.MigrationPhase;
import org.lifeboat.agent.migration.Reports;

class MigrationMetricsTest {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final MigrationMetrics metrics = new MigrationMetrics(registry);

    @Test
    void everyKnownSeriesIsThereAtZeroBeforeAnyMigration() {
        for (String mode : new String[] {"diskless", "shared-fs"}) {
            for (MigrationPhase phase : MigrationPhase.values()) {
                assertEquals(0, phase(mode, phase.wireName()).count(), mode + " " + phase);
            }
            assertEquals(0, outcomes(mode, "migrated", "none"));
            for (String reason : new String[] {"target-unreachable", "timeout", "prepare-failed", "dump-failed",
                    "transfer-failed", "restore-failed", "other"}) {
                assertEquals(0, outcomes(mode, "rolled-back", reason), reason);
            }
            assertEquals(0, outcomes(mode, "migrated-cleanup-failed", "cleanup-failed"));
            assertEquals(0, registry.get(MigrationMetrics.DOWNTIME).tag("mode", mode).timer().count());
            assertEquals(0, transferred(mode, "pages"));
            assertEquals(0, transferred(mode, "images"));
            assertEquals(0, pagesOnLink(mode));
        }
    }

    @Test
    void theBytesCounterHoldsEachByteOnceAndTheMemoryOnTheLinkHasAMeterOfItsOwn() {
        metrics.migrationEnded(Reports.migrated("job42-aaaa", 42, 0));

        double moved = registry.get(MigrationMetrics.TRANSFERRED).counters().stream().mapToDouble(Counter::count).sum();
        assertEquals(268_435_456 + 350_000, moved, "pages and images, the memory counted once");
        assertNull(registry.find(MigrationMetrics.TRANSFERRED).tag("kind", "pages-on-link").counter());
        assertEquals(140_000_000, pagesOnLink("diskless"));
    }

    @Test
    void jobsTakenOverAfterTheirSourceNodeWasLostAreCountedFromZero() {
        assertEquals(0, registry.get(MigrationMetrics.TAKEN_OVER).counter().count());

        metrics.tookOver();

        assertEquals(1, registry.get(MigrationMetrics.TAKEN_OVER).counter().count());
    }

    @Test
    void aMigrationThatWorkedRecordsEveryPhaseTheTotalTheDowntimeTheBytesAndItsOutcome() {
        metrics.migrationEnded(Reports.migrated("job42-aaaa", 42, 0));

        assertEquals(1, phase("diskless", "dump").count());
        assertEquals(0.924, phase("diskless", "dump").totalTime(TimeUnit.SECONDS), 1e-9);
        assertEquals(0.076, phase("diskless", "send-images").totalTime(TimeUnit.SECONDS), 1e-9);
        assertEquals(0, phase("diskless", "rollback").count());
        assertEquals(0, phase("shared-fs", "dump").count());
        Timer total = registry.get(MigrationMetrics.DURATION).tag("mode", "diskless").tag("result", "migrated").timer();
        assertEquals(1.877, total.totalTime(TimeUnit.SECONDS), 1e-9);
        assertEquals(1.448, registry.get(MigrationMetrics.DOWNTIME).tag("mode", "diskless").timer().totalTime(TimeUnit.SECONDS), 1e-9);
        assertEquals(268_435_456, transferred("diskless", "pages"));
        assertEquals(140_000_000, pagesOnLink("diskless"));
        assertEquals(350_000, transferred("diskless", "images"));
        assertEquals(1, outcomes("diskless", "migrated", "none"));
    }

    @Test
    void postCopyRecordsTheSecondsEachJobWasSplitAcrossTwoNodesAndCountsTheJobsItLost() {
        assertEquals(0, registry.get(MigrationMetrics.SPLIT).timer().count());
        assertEquals(0, outcomes("post-copy", "lost", "pages-lost"));

        metrics.migrationEnded(Reports.postCopy("job44-cccc", 44, 3_500, false));
        metrics.migrationEnded(Reports.postCopy("job45-dddd", 45, 1_200, true));
        metrics.migrationEnded(Reports.migrated("job46-eeee", 46, 0));

        Timer split = registry.get(MigrationMetrics.SPLIT).timer();
        assertEquals(2, split.count(), "post-copy moves alone, lost ones included");
        assertEquals(4.7, split.totalTime(TimeUnit.SECONDS), 1e-9);
        assertEquals(1, outcomes("post-copy", "lost", "pages-lost"));
        assertEquals(1, outcomes("post-copy", "migrated", "none"));
    }

    @Test
    void aRolledBackMigrationCountsItsReasonAndBytesButNoDowntime() {
        metrics.migrationEnded(Reports.rolledBack("job43-bbbb", 43, 0));

        assertEquals(1, outcomes("shared-fs", "rolled-back", "restore-failed"));
        assertEquals(0, outcomes("shared-fs", "migrated", "none"));
        assertEquals(0, registry.get(MigrationMetrics.DOWNTIME).tag("mode", "shared-fs").timer().count());
        assertEquals(1, phase("shared-fs", "rollback").count());
        assertEquals(1, registry.get(MigrationMetrics.DURATION).tag("mode", "shared-fs").tag("result", "rolled-back").timer().count());
        assertEquals(268_435_456, transferred("shared-fs", "pages"), "what crossed the wire counts even when rolled back");
    }

    @Test
    void phaseTimesFallIntoBucketsFromTenMillisecondsToFifteenMinutes() {
        metrics.migrationEnded(Reports.migrated("job42-aaaa", 42, 0));

        CountAtBucket[] buckets = phase("diskless", "dump").takeSnapshot().histogramCounts();
        assertEquals(MigrationMetrics.BUCKETS.length, buckets.length);
        assertEquals(0.01, buckets[0].bucket(TimeUnit.SECONDS), 1e-9);
        assertEquals(900, buckets[buckets.length - 1].bucket(TimeUnit.SECONDS), 1e-9);
        for (CountAtBucket bucket : buckets) {
            // 924 ms: above the 500 ms bucket, within the 1 s one and every one after.
            double expected = bucket.bucket(TimeUnit.SECONDS) >= 1 ? 1 : 0;
            assertEquals(expected, bucket.count(), "bucket " + bucket.bucket(TimeUnit.SECONDS));
        }
    }

    @Test
    void migrationsInFlightAreReadWhenScrapedByRole() {
        AtomicInteger source = new AtomicInteger();
        metrics.watchInFlight("source", source::get);
        metrics.watchInFlight("target", () -> 3);

        source.set(2);

        assertEquals(2, registry.get(MigrationMetrics.IN_FLIGHT).tag("role", "source").gauge().value());
        assertEquals(3, registry.get(MigrationMetrics.IN_FLIGHT).tag("role", "target").gauge().value());
    }

    @Test
    void noLabelCarriesAJobOrMigrationId() {
        metrics.migrationEnded(Reports.migrated("job42-aaaa", 42, 0));

        registry.getMeters().forEach(meter -> meter.getId().getTags().forEach(tag -> {
            assertTrue(!tag.getValue().contains("42") && !tag.getValue().contains("aaaa"), meter.getId().toString());
        }));
        assertNull(registry.find(MigrationMetrics.OUTCOMES).tag("job", "42").counter());
    }

    private Timer phase(String mode, String phase) {
        return registry.get(MigrationMetrics.PHASE).tag("mode", mode).tag("phase", phase).timer();
    }

    private double outcomes(String mode, String result, String reason) {
        return registry.get(MigrationMetrics.OUTCOMES).tag("mode", mode).tag("result", result).tag("reason", reason).counter().count();
    }

    private double pagesOnLink(String mode) {
        return registry.get(MigrationMetrics.PAGES_ON_LINK).tag("mode", mode).counter().count();
    }

    private double transferred(String mode, String kind) {
        return registry.get(MigrationMetrics.TRANSFERRED).tag("mode", mode).tag("kind", kind).counter().count();
    }
}
