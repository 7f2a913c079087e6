package org.lifeboat.predictor.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lifeboat.predictor.config.PlanningConfig;
import org.lifeboat.predictor.plan.PlannedMove.Action;

class EvacuationPlannerTest {

    private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    private static final long GB = 1_000_000_000L;
    // 1 GB/s, 1 s overhead: a job of N GB takes N + 1 seconds alone on the link.
    private final EvacuationPlanner serial = new EvacuationPlanner(GB, Duration.ofSeconds(1), 1);
    private final EvacuationPlanner twoLanes = new EvacuationPlanner(GB, Duration.ofSeconds(1), 2);

    private static List<String> ids(List<PlannedMove> plan, Action action) {
        return plan.stream().filter(move -> move.action() == action).map(move -> move.job().jobId()).toList();
    }

    @Test
    void theEstimateIsTheOverheadPlusMemoryOverTheLinkShare() {
        assertEquals(Duration.ofSeconds(5), serial.estimate(4 * GB, 1));
        assertEquals(Duration.ofSeconds(9), serial.estimate(4 * GB, 2), "two migrations at once halve each one's share");
        assertEquals(Duration.ofSeconds(1), serial.estimate(0, 1));
        assertEquals(Duration.ofMillis(1001), serial.estimate(1_000_000, 1));
    }

    @Test
    void withTimeForAllTheBiggestJobGoesFirstAndAllMoveLive() {
        List<PlannedMove> plan = serial.plan(List.of(new JobToMove("small", GB), new JobToMove("big", 8 * GB),
                new JobToMove("medium", 4 * GB)), NOW, NOW.plus(Duration.ofMinutes(10)));

        assertEquals(List.of("big", "medium", "small"), ids(plan, Action.MIGRATE_LIVE));
        assertEquals(List.of(NOW, NOW.plusSeconds(9), NOW.plusSeconds(14)), plan.stream().map(PlannedMove::start).toList());
        assertEquals(NOW.plusSeconds(16), plan.get(2).finish());
        assertEquals(NOW.plus(Duration.ofMinutes(10)).minusSeconds(9), plan.get(0).latestStart());
    }

    @Test
    void aJobThatCannotMakeTheDeadlineIsCheckpointedFirstAndSmallerOnesStillMove() {
        // 20 s: "huge" needs 31 s alone; "big" 9 s; then "medium" 5 s; "small" 2 s would end at 16 s.
        List<PlannedMove> plan = serial.plan(List.of(new JobToMove("huge", 30 * GB), new JobToMove("big", 8 * GB),
                new JobToMove("medium", 4 * GB), new JobToMove("small", GB)), NOW, NOW.plusSeconds(20));

        assertEquals(List.of("huge"), ids(plan, Action.CHECKPOINT_TO_SHARED_FIRST));
        assertEquals(List.of("big", "medium", "small"), ids(plan, Action.MIGRATE_LIVE));
        assertEquals(Action.CHECKPOINT_TO_SHARED_FIRST, plan.get(0).action(), "checkpoints come first: they start at once");
        assertEquals(-1, plan.get(0).lane());
        assertTrue(plan.get(0).latestStart().isBefore(NOW));
    }

    @Test
    void aJobThatWouldEndTooLateBehindOthersIsCheckpointedToo() {
        // 12 s: "a" 7 s, then "b" would end at 14 s; "c" fits after "a" at 9 s.
        List<PlannedMove> plan = serial.plan(List.of(new JobToMove("a", 6 * GB), new JobToMove("b", 6 * GB),
                new JobToMove("c", GB)), NOW, NOW.plusSeconds(12));

        assertEquals(List.of("b"), ids(plan, Action.CHECKPOINT_TO_SHARED_FIRST));
        assertEquals(List.of("a", "c"), ids(plan, Action.MIGRATE_LIVE));
    }

    @Test
    void concurrentLanesShareTheLinkAndEachJobGoesToTheLaneFreeFirst() {
        List<PlannedMove> plan = twoLanes.plan(List.of(new JobToMove("a", 4 * GB), new JobToMove("b", 2 * GB),
                new JobToMove("c", GB)), NOW, NOW.plus(Duration.ofMinutes(1)));

        // Two lanes: a takes 9 s in lane 0, b 5 s in lane 1, c 3 s after b in lane 1.
        assertEquals(List.of(0, 1, 1), plan.stream().map(PlannedMove::lane).toList());
        assertEquals(List.of(NOW.plusSeconds(9), NOW.plusSeconds(5), NOW.plusSeconds(8)),
                plan.stream().map(PlannedMove::finish).toList());
    }

    @Test
    void aPassedDeadlineSendsEveryJobToSharedStorage() {
        List<PlannedMove> plan = serial.plan(List.of(new JobToMove("a", GB), new JobToMove("b", 0)), NOW, NOW.minusSeconds(1));

        assertEquals(List.of("a", "b"), ids(plan, Action.CHECKPOINT_TO_SHARED_FIRST));
    }

    @Test
    void noJobsNoPlanAndEqualJobsAreOrderedById() {
        assertEquals(List.of(), serial.plan(List.of(), NOW, NOW.plusSeconds(60)));
        assertEquals(List.of("j1", "j2", "j3"), ids(serial.plan(List.of(new JobToMove("j3", GB), new JobToMove("j1", GB),
                new JobToMove("j2", GB)), NOW, NOW.plusSeconds(60)), Action.MIGRATE_LIVE));
    }

    @Test
    void inRandomPlansEveryJobAppearsOnceLiveMovesEndByTheDeadlineAndLanesNeverOverlap() {
        Random random = new Random(0x5EED_0007L);
        for (int round = 0; round < 2_000; round++) {
            int lanes = 1 + random.nextInt(4);
            EvacuationPlanner planner = new EvacuationPlanner(1 + random.nextInt(2_000_000_000),
                    Duration.ofMillis(random.nextInt(5_000)), lanes);
            List<JobToMove> jobs = new ArrayList<>();
            for (int i = random.nextInt(12); i > 0; i--) {
                jobs.add(new JobToMove("job" + jobs.size(), (long) (random.nextDouble() * 64 * GB)));
            }
            Instant deadline = NOW.plusMillis(random.nextInt(600_000) - 10_000);

            List<PlannedMove> plan = planner.plan(jobs, NOW, deadline);

            assertEquals(jobs.size(), plan.size());
            assertEquals(jobs.size(), plan.stream().map(move -> move.job().jobId()).distinct().count());
            for (PlannedMove move : plan) {
                if (move.action() == Action.MIGRATE_LIVE) {
                    assertFalse(move.finish().isAfter(deadline));
                    assertFalse(move.start().isBefore(NOW));
                    assertTrue(move.lane() >= 0 && move.lane() < lanes);
                    for (PlannedMove other : plan) {
                        if (other != move && other.lane() == move.lane()) {
                            assertTrue(!other.start().isBefore(move.finish()) || !other.finish().isAfter(move.start()),
                                    "overlap in lane " + move.lane());
                        }
                    }
                }
            }
            Duration allInARow = jobs.stream().map(job -> planner.estimate(job.memoryBytes(), 1)).reduce(Duration.ZERO, Duration::plus);
            if (lanes == 1 && allInARow.compareTo(Duration.between(NOW, deadline)) <= 0) {
                assertTrue(plan.stream().allMatch(move -> move.action() == Action.MIGRATE_LIVE), "time for all, yet a checkpoint");
            }
        }
    }

    @Test
    void plansAsManyLanesAsTheEvacuatorRunsMigrationsAtOnce() {
        List<JobToMove> jobs = List.of(new JobToMove("a", GB), new JobToMove("b", GB), new JobToMove("c", GB));

        List<PlannedMove> plan = EvacuationPlanner.from(PlanningConfig.defaults(), 3).plan(jobs, NOW, NOW.plus(Duration.ofHours(1)));

        assertEquals(List.of(0, 1, 2), plan.stream().map(PlannedMove::lane).sorted().toList());
    }

    @Test
    void isBuiltFromTheConfigurationAndRefusesNonsense() {
        EvacuationPlanner fromDefaults = EvacuationPlanner.from(PlanningConfig.defaults(), 2);
        assertEquals(Duration.ofSeconds(6), fromDefaults.estimate(1_000_000_000L, 1));
        assertThrows(IllegalArgumentException.class, () -> new EvacuationPlanner(0, Duration.ZERO, 1));
        assertThrows(IllegalArgumentException.class, () -> new EvacuationPlanner(1, Duration.ofSeconds(-1), 1));
        assertThrows(IllegalArgumentException.class, () -> new EvacuationPlanner(1, Duration.ZERO, 0));
        assertThrows(IllegalArgumentException.class, () -> new JobToMove("j", -1));
    }
}
