package org.lifeboat.agent.migration;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lifeboat.agent.criu.CriuDumpStatistics;
import org.lifeboat.agent.criu.CriuRestoreStatistics;

/** Migration reports as the engine makes them, for tests of what consumes them. */
public final class Reports {

    public static final CriuDumpStatistics CRIU_DUMP = new CriuDumpStatistics(1_200, 1_448_000, 80_500, 700_250, 65_600, 0, 65_536, 0);
    public static final CriuRestoreStatistics CRIU_RESTORE = new CriuRestoreStatistics(2_000, 400_000, 0, 0, 65_536);

    private Reports() {}

    /** A diskless migration of 256 MiB that worked, with every phase's time and CRIU's figures. */
    public static MigrationReport migrated(String id, long job, int uid) {
        Map<String, Long> phases = new LinkedHashMap<>();
        phases.put("prepare-target", 12L);
        phases.put("dump", 924L);
        phases.put("send-images", 76L);
        phases.put("restore", 446L);
        phases.put("confirm", 101L);
        phases.put("cleanup", 318L);
        return new MigrationReport(id, job, "node1", "node2", TransferMode.DISKLESS, Outcome.MIGRATED, null,
                Instant.parse("2026-11-22T04:11:00.123Z"), phases, 1877, 1448, 900, 420, 268_435_456L, 140_000_000L, 350_000L, uid, null,
                CRIU_DUMP, CRIU_RESTORE, 0);
    }

    /** A post-copy migration: frozen briefly, then split across the nodes for {@code splitMillis}; lost or not. */
    public static MigrationReport postCopy(String id, long job, long splitMillis, boolean lost) {
        Map<String, Long> phases = new LinkedHashMap<>();
        phases.put("dump", 120L);
        phases.put("resume", 30L);
        phases.put("fetch-pages", splitMillis);
        return new MigrationReport(id, job, "node1", "node2", TransferMode.POST_COPY, lost ? Outcome.LOST : Outcome.MIGRATED,
                lost ? "post-copy: the link went" : null, Instant.parse("2026-12-07T05:00:00Z"), phases, 4000, 350, 120, 90,
                268_435_456L, 268_435_456L, 350_000L, 0, lost ? FailureReason.PAGES_LOST : null, null, null, splitMillis);
    }

    /** A shared-fs migration whose restore failed on the target and that was rolled back. */
    public static MigrationReport rolledBack(String id, long job, int uid) {
        Map<String, Long> phases = new LinkedHashMap<>();
        phases.put("prepare-target", 9L);
        phases.put("dump", 241L);
        phases.put("send-images", 0L);
        phases.put("restore", 35L);
        phases.put("rollback", 60L);
        return new MigrationReport(id, job, "node1", "node3", TransferMode.SHARED_FS, Outcome.ROLLED_BACK,
                "the agent at 10.241.0.3:9465 refused: CRIU restore failed", Instant.parse("2026-11-22T05:00:00Z"), phases,
                345, 0, 230, 0, 268_435_456L, 268_435_456L, 0L, uid, FailureReason.RESTORE_FAILED, null, null, 0);
    }
}
