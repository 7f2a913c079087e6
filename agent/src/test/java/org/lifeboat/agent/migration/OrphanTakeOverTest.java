package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.lifeboat.agent.migration.IncomingMigration.State;
import org.lifeboat.agent.peer.PeerRequestException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A copy restored here whose source node was lost is started here once Slurm requeues its job, and given up when the job went on without it. */
final class OrphanTakeOverTest {

    private static final String ID = "job7-a1";
    private static final long JOB = 7;
    private static final Duration SILENCE = IncomingMigrations.SOURCE_SILENCE;

    @TempDir
    Path directory;

    private TargetNode target;

    @BeforeEach
    void restoreACopy() throws Exception {
        target = new TargetNode(directory);
        target.prepareDiskless(ID, JOB);
        target.restore(ID, JOB);
    }

    @Test
    void aConfirmedCopyIsStartedHereWhenSlurmRequeuesAndResumedWhenSlurmRunsItHere() throws Exception {
        target.confirm(ID, JOB);
        target.clock.advance(SILENCE.plusSeconds(1));
        assertEquals(List.of(), sweep(), "Slurm has not requeued the job: the source still holds it");
        assertEquals(List.of(), target.scheduler.calls());

        target.scheduler.set("PENDING", null, 1);
        assertEquals(List.of(), sweep());
        assertEquals(List.of("pin 7", "start 7 from node1"), target.scheduler.calls());
        assertEquals(State.STARTED_HERE, state());
        assertEquals(List.of(), sweep(), "started once");
        assertEquals(2, target.scheduler.calls().size());

        target.scheduler.set("RUNNING", "node2", 1);
        target.commands.answer(0, "", ""); // kill -CONT
        assertEquals(List.of(ID), sweep());
        assertEquals(1, target.tookOver.get());
        assertTrue(Files.readString(target.resumeMarker(JOB)).contains("init-pid=" + TargetNode.PID));
        assertFalse(Files.exists(target.confirmedRecord(ID)));
        assertFalse(Files.exists(target.images(ID)), "no source will commit it: its images go now");
        assertEquals(0, target.table.inFlight());

        PeerRequestException refused = assertThrows(PeerRequestException.class,
                () -> target.incoming.call("abort", TargetNode.migration(ID, JOB)));
        assertEquals("conflict", refused.code(), "the source, back, learns the job runs here");
    }

    @Test
    void aSourceHeardFromWithinTheSilenceIsLeftAlone() throws Exception {
        target.scheduler.set("PENDING", null, 1);
        target.clock.advance(SILENCE.minusSeconds(1));
        assertEquals(List.of(), sweep());
        assertEquals(List.of(), target.scheduler.calls());
        assertEquals(State.RESTORED, state());
    }

    @Test
    void aCopyStartedHereIsGivenUpWhenTheJobRunsElsewhere() throws Exception {
        target.clock.advance(SILENCE.plusSeconds(1));
        target.scheduler.set("PENDING", null, 1);
        sweep();
        assertEquals(State.STARTED_HERE, state());
        assertTrue(target.registry.job(JOB).isPresent());
        assertTrue(Files.exists(target.resumeMarker(JOB)));

        target.scheduler.set("RUNNING", "node3", 1);
        target.commands.answer(0, "", ""); // kill -KILL
        assertEquals(List.of(), sweep());

        assertEquals(List.of("kill", "-KILL", Long.toString(TargetNode.PID)), target.commands.commands().get(
                target.commands.commands().size() - 1));
        assertEquals(0, target.table.inFlight());
        assertFalse(target.registry.job(JOB).isPresent(), "started here, now gone: unregistered");
        assertFalse(Files.exists(target.resumeMarker(JOB)));
        assertFalse(Files.exists(target.confirmedRecord(ID)));
        assertFalse(Files.exists(target.images(ID)));
    }

    @Test
    void aSourceBackAfterTheStartCanStillResumeItsCopy() throws Exception {
        target.clock.advance(SILENCE.plusSeconds(1));
        target.scheduler.set("PENDING", null, 1);
        sweep();

        target.resume(ID, JOB);

        assertEquals(State.RESUMED, state());
        assertEquals(List.of(), sweep(), "a running copy is not the take-over's any more");
    }

    private List<String> sweep() {
        return target.takeOver.takeOverOrphans(SILENCE, "node2");
    }

    private State state() {
        return target.table.get(ID).orElseThrow().state();
    }
}
