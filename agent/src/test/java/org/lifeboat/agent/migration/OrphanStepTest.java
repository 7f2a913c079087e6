package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** What a target does with a restored copy whose source fell silent, by what Slurm says of the job. */
final class OrphanStepTest {

    private static OrphanStep step(String state, String node, int restarts, boolean startedHere, boolean waitedFor) {
        return OrphanStep.of(FakeTargetScheduler.job(state, node, restarts), 0, startedHere, waitedFor, "node2");
    }

    @Test
    void aJobSlurmHasNotRequeuedStaysWithItsSourceWhateverItsState() {
        assertEquals(OrphanStep.WAIT, step("RUNNING", "node1", 0, false, false));
        assertEquals(OrphanStep.WAIT, step("PENDING", null, 0, false, true));
        assertEquals(OrphanStep.WAIT, step("CANCELLED", "node1", 0, false, true), "a copy is not thrown away before Slurm requeues");
    }

    @Test
    void aRequeuedPendingJobIsStartedHereOnce() {
        assertEquals(OrphanStep.START_HERE, step("PENDING", null, 1, false, false));
        assertEquals(OrphanStep.WAIT, step("PENDING", "node2", 1, true, true));
    }

    @Test
    void theCopyIsResumedOnlyWhenSlurmRunsTheJobHereAndItsScriptWaitsForIt() {
        assertEquals(OrphanStep.RESUME_HERE, step("RUNNING", "node2", 1, true, true));
        assertEquals(OrphanStep.RESUME_HERE, step("RUNNING", "node2", 1, false, true), "confirmed: the marker was there");
        assertEquals(OrphanStep.GIVE_UP, step("RUNNING", "node2", 1, false, false), "started afresh here: a second writer");
        assertEquals(OrphanStep.GIVE_UP, step("RUNNING", "node3", 1, true, true), "started afresh elsewhere");
    }

    @Test
    void aJobOnItsWayBackWaitsAndAnEndedOneGivesTheCopyUp() {
        for (String passing : new String[] {"COMPLETING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "SUSPENDED"}) {
            assertEquals(OrphanStep.WAIT, step(passing, "node1", 1, false, true), passing);
        }
        for (String ended : new String[] {"CANCELLED", "COMPLETED", "FAILED", "NODE_FAIL", "TIMEOUT"}) {
            assertEquals(OrphanStep.GIVE_UP, step(ended, "node1", 1, true, true), ended);
        }
    }
}
