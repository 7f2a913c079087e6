package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.lifeboat.agent.peer.PeerRequestException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A migration whose source went silent is given up after the silence limit; one that is still talking is not. */
final class IncomingMigrationsSilenceTest {

    private static final Duration SILENCE = IncomingMigrations.SILENCE_LIMIT;

    @TempDir
    Path directory;

    private TargetNode target;
    private SettableClock clock;
    private IncomingMigrations incoming;
    private SilenceSweep sweep;

    @BeforeEach
    void createTarget() throws Exception {
        target = new TargetNode(directory);
        Files.createDirectories(target.shared.resolve("job7-a1"));
        Files.createDirectories(target.shared.resolve("job8-b2"));
        clock = target.clock;
        incoming = target.incoming;
        sweep = target.silence;
    }

    @Test
    void theSilenceLimitOutlastsTheSourcesOwnWaitForItsDecision() {
        assertTrue(SILENCE.compareTo(PostDumpHook.DECISION_LIMIT) > 0, "a source may still be deciding when its target gives up");
    }

    @Test
    void aMigrationWhoseSourceSaysNothingIsDiscardedOnlyAfterTheLimit() throws Exception {
        incoming.call("prepare", prepare("job7-a1", 7));
        clock.advance(SILENCE.minusSeconds(1));
        assertEquals(List.of(), sweep.discardSilent(SILENCE));
        assertEquals(1, target.table.inFlight());

        clock.advance(Duration.ofSeconds(2));
        assertEquals(List.of("job7-a1"), sweep.discardSilent(SILENCE));
        assertEquals(0, target.table.inFlight());
        PeerRequestException gone = assertThrows(PeerRequestException.class, () -> incoming.call("commit", migration("job7-a1", 7)));
        assertEquals("unknown-migration", gone.code());
        assertTrue(Files.isDirectory(directory.resolve("shared/job7-a1")), "the source's shared images are not the target's to delete");
    }

    @Test
    void everyRequestOfTheSourceRestartsTheSilence() throws Exception {
        incoming.call("prepare", prepare("job7-a1", 7));
        incoming.call("prepare", prepare("job8-b2", 8));
        clock.advance(SILENCE.minusMinutes(1));
        // The source of job 8 speaks (a request that fails still counts: the source is alive).
        assertThrows(PeerRequestException.class, () -> incoming.call("resume", migration("job8-b2", 8)));
        clock.advance(Duration.ofMinutes(2));

        assertEquals(List.of("job7-a1"), sweep.discardSilent(SILENCE));
        assertEquals(1, target.table.inFlight());
    }

    @Test
    void imagesThatStillGrowCountAsASourceThatIsStillTalking() throws Exception {
        incoming.call("prepare", prepare("job7-a1", 7));
        Path pages = directory.resolve("shared/job7-a1/pages-1.img");
        Files.write(pages, new byte[4096]);
        clock.advance(SILENCE.plusMinutes(1));
        assertEquals(List.of(), sweep.discardSilent(SILENCE), "the first sweep sees the images grown since the prepare");
        Files.write(pages, new byte[8192]);
        clock.advance(SILENCE.plusMinutes(1));
        assertEquals(List.of(), sweep.discardSilent(SILENCE));

        clock.advance(SILENCE.plusMinutes(1));
        assertEquals(List.of("job7-a1"), sweep.discardSilent(SILENCE), "images that stopped growing are a source gone");
    }

    private static ObjectNode migration(String id, long job) {
        return TargetNode.migration(id, job);
    }

    private static ObjectNode prepare(String id, long job) {
        return TargetNode.prepareMessage(id, job, TransferMode.SHARED_FS);
    }
}
