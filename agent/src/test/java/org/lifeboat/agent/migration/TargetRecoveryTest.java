package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent that stopped after confirming a copy finds it at its next start: resumed when the
 * source requeued the job, discarded when it never did; every other migration's leftovers go.
 */
final class TargetRecoveryTest {

    private static final String ID = "job7-a1";
    private static final long JOB = 7;

    @TempDir
    Path directory;

    private TargetNode restarted;

    @BeforeEach
    void stopAfterTheConfirmation() throws Exception {
        TargetNode stopped = new TargetNode(directory);
        stopped.prepareDiskless(ID, JOB);
        stopped.restore(ID, JOB);
        stopped.confirm(ID, JOB);
        stopped.prepareDiskless("job8-b2", 8);
        restarted = new TargetNode(directory);
    }

    @Test
    void aCopyWhoseSourceRequeuedTheJobIsResumedHere() throws Exception {
        restarted.scheduler.set("PENDING", null, 1);
        restarted.commands.answer(0, "", ""); // kill -CONT

        restarted.recovery(TargetRecovery.REQUEUE_WAIT).recover();

        assertEquals(List.of(List.of("kill", "-CONT", Long.toString(TargetNode.PID))), restarted.commands.commands());
        assertTrue(Files.readString(restarted.resumeMarker(JOB)).contains("init-pid=" + TargetNode.PID));
        assertTrue(restarted.registry.job(JOB).isPresent());
        assertFalse(Files.exists(restarted.confirmedRecord(ID)));
        assertLeftoversRemoved();
    }

    @Test
    void aCopyWhoseJobWasNeverRequeuedIsDiscarded() throws Exception {
        restarted.commands.answer(0, "", ""); // kill -KILL

        restarted.recovery(Duration.ofMillis(20)).recover();

        assertEquals(List.of(List.of("kill", "-KILL", Long.toString(TargetNode.PID))), restarted.commands.commands());
        assertFalse(Files.exists(restarted.resumeMarker(JOB)));
        assertFalse(restarted.registry.job(JOB).isPresent());
        assertFalse(Files.exists(restarted.confirmedRecord(ID)));
        assertLeftoversRemoved();
    }

    @Test
    void aRecordWhoseCopyIsGoneIsDroppedWithoutAskingSlurm() throws Exception {
        restarted.proc.process(TargetNode.PID, "S", TargetNode.START_TIME + 1); // the pid reused by another process

        restarted.recovery(TargetRecovery.REQUEUE_WAIT).recover();

        assertEquals(List.of(), restarted.commands.commands());
        assertFalse(Files.exists(restarted.resumeMarker(JOB)));
        assertFalse(Files.exists(restarted.confirmedRecord(ID)));
        assertLeftoversRemoved();
    }

    private void assertLeftoversRemoved() {
        assertFalse(Files.exists(restarted.checkpoints.resolve(IncomingMigrations.INCOMING)), "images of stale migrations");
        assertFalse(Files.exists(restarted.checkpoints.resolve(IncomingMigrations.ROOTS)), "restore roots");
    }
}
