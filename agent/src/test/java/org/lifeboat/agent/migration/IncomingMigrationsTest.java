package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.lifeboat.agent.migration.IncomingMigration.State;
import org.lifeboat.agent.peer.PeerRequestException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** The target's side of a migration, request by request: each allowed in one state only, and undone by an abort until the point of no return. */
final class IncomingMigrationsTest {

    private static final String ID = "job7-a1";
    private static final long JOB = 7;

    @TempDir
    Path directory;

    private TargetNode target;

    @BeforeEach
    void createTarget() throws Exception {
        target = new TargetNode(directory);
    }

    @Test
    void aMigrationWalksFromPrepareToCommit() throws Exception {
        target.prepareDiskless(ID, JOB);
        SocketChannel pages = target.incoming.pipe("pages", TargetNode.migration(ID, JOB)).join();
        assertTrue(pages.isConnected(), "the relay gets the page server's own connection");
        PeerRequestException second = assertThrows(PeerRequestException.class,
                () -> target.incoming.pipe("pages", TargetNode.migration(ID, JOB)));
        assertEquals("conflict", second.code(), "the page server serves its one connection to the first relay alone");
        assertEquals(1, target.criuRuns("page-server"));

        assertEquals(TargetNode.PID, target.restore(ID, JOB).path("pid").asLong());
        assertEquals(State.RESTORED, state());

        ObjectNode confirmed = target.confirm(ID, JOB);
        assertTrue(confirmed.path("ready").asBoolean());
        assertTrue(Files.exists(target.confirmedRecord(ID)), "a restarted agent must find the stopped copy");
        assertTrue(Files.readString(target.resumeMarker(JOB)).contains("restoring=1"), "a requeued job waits for the copy");

        target.resume(ID, JOB);
        assertEquals(List.of("kill", "-CONT", Long.toString(TargetNode.PID)), last(target.commands.commands()));
        assertTrue(Files.readString(target.resumeMarker(JOB)).contains("init-pid=" + TargetNode.PID));
        assertFalse(Files.exists(target.confirmedRecord(ID)));
        assertTrue(target.registry.job(JOB).isPresent(), "the job's container is registered here");

        target.incoming.call("commit", TargetNode.migration(ID, JOB));
        assertEquals(0, target.table.inFlight());
        assertFalse(Files.exists(target.images(ID)));
        assertFalse(Files.exists(target.root(ID)));
        assertTrue(Files.exists(target.resumeMarker(JOB)), "the running job's marker stays");
    }

    @Test
    void aRepeatedRestoreIsRefusedWithoutRunningCriuAgain() throws Exception {
        target.prepareDiskless(ID, JOB);
        target.restore(ID, JOB);
        int commandsBefore = target.commands.commands().size();

        PeerRequestException refused = assertThrows(PeerRequestException.class,
                () -> target.incoming.call("restore", TargetNode.migration(ID, JOB)));

        assertEquals("out-of-order", refused.code());
        assertEquals(1, target.criuRuns("restore"));
        assertEquals(commandsBefore, target.commands.commands().size());
    }

    @ParameterizedTest
    @EnumSource(value = State.class, names = {"PREPARED", "RESTORE_FAILED", "RESTORED", "CONFIRMED"})
    void anAbortBeforeThePointOfNoReturnDiscardsEverything(State state) throws Exception {
        bring(state);
        if (state == State.RESTORED || state == State.CONFIRMED) {
            target.commands.answer(0, "", ""); // kill -KILL of the stopped copy
        }

        target.incoming.call("abort", TargetNode.migration(ID, JOB));

        assertEquals(0, target.table.inFlight());
        assertFalse(Files.exists(target.images(ID)), "images");
        assertFalse(Files.exists(target.root(ID)), "restore root");
        assertFalse(Files.exists(target.confirmedRecord(ID)), "confirmed record");
        assertFalse(Files.exists(target.resumeMarker(JOB)), "resume marker");
        if (state == State.RESTORED || state == State.CONFIRMED) {
            assertEquals(List.of("kill", "-KILL", Long.toString(TargetNode.PID)), last(target.commands.commands()));
        }
        PeerRequestException gone = assertThrows(PeerRequestException.class,
                () -> target.incoming.call("confirm", TargetNode.migration(ID, JOB)));
        assertEquals("unknown-migration", gone.code());
    }

    @Test
    void aPostCopyTargetStartsNoPageServerAndItsOneRelayWaitsForTheLazyPagesDaemonOfItsRestore() throws Exception {
        Files.createDirectories(target.images(ID));
        target.incoming.call("prepare", TargetNode.prepareMessage(ID, JOB, TransferMode.POST_COPY));
        assertEquals(0, target.criuRuns("page-server"), "the lazy-pages daemon comes with the restore");

        CompletableFuture<SocketChannel> relay = target.incoming.pipe("pages", TargetNode.migration(ID, JOB));
        assertFalse(relay.isDone(), "the source's dump holds its end from the start; the daemon's end comes later");
        PeerRequestException second = assertThrows(PeerRequestException.class,
                () -> target.incoming.pipe("pages", TargetNode.migration(ID, JOB)));
        assertEquals("conflict", second.code(), "the job's memory goes to one relay alone");
        PeerRequestException early = assertThrows(PeerRequestException.class,
                () -> target.incoming.call("pages-arrived", TargetNode.migration(ID, JOB)));
        assertEquals("out-of-order", early.code(), "only a copy that runs here fetches pages");

        target.incoming.call("abort", TargetNode.migration(ID, JOB));

        assertTrue(relay.isCompletedExceptionally(), "a discarded migration's relay stops waiting");
    }

    @Test
    void pagesArrivedIsRefusedForAMigrationWhosePagesCameWithItsDump() throws Exception {
        target.prepareDiskless(ID, JOB);
        target.restore(ID, JOB);
        target.confirm(ID, JOB);
        target.resume(ID, JOB);

        PeerRequestException refused = assertThrows(PeerRequestException.class,
                () -> target.incoming.call("pages-arrived", TargetNode.migration(ID, JOB)));

        assertEquals("conflict", refused.code());
        assertTrue(refused.getMessage().contains("not post-copy"), refused.getMessage());
    }

    @Test
    void anAbortOfAMigrationThisNodeNeverHeardOfIsAnsweredOk() throws Exception {
        target.incoming.call("abort", TargetNode.migration(ID, JOB));
        assertEquals(0, target.table.inFlight());
    }

    @ParameterizedTest(name = "{1} in {0}: {2}")
    @CsvSource({
            "PREPARED, confirm, conflict",
            "PREPARED, resume, conflict",
            "PREPARED, commit, out-of-order",
            "RESTORE_FAILED, restore, out-of-order",
            "RESTORE_FAILED, confirm, conflict",
            "RESTORE_FAILED, resume, conflict",
            "RESTORE_FAILED, commit, out-of-order",
            "RESTORE_FAILED, pages, out-of-order",
            "RESTORE_FAILED, images, out-of-order",
            "RESTORED, restore, out-of-order",
            "RESTORED, resume, out-of-order",
            "RESTORED, commit, out-of-order",
            "RESTORED, pages, out-of-order",
            "RESTORED, images, out-of-order",
            "CONFIRMED, restore, out-of-order",
            "CONFIRMED, confirm, out-of-order",
            "CONFIRMED, commit, out-of-order",
            "CONFIRMED, images, out-of-order",
            "STARTED_HERE, restore, out-of-order",
            "STARTED_HERE, confirm, conflict",
            "STARTED_HERE, commit, out-of-order",
            "STARTED_HERE, abort, conflict",
            "RESUMED, restore, out-of-order",
            "RESUMED, confirm, out-of-order",
            "RESUMED, resume, out-of-order",
            "RESUMED, pages, out-of-order",
            "RESUMED, abort, conflict",
    })
    void aRequestOutOfOrderIsRefusedAndChangesNothing(State state, String request, String code) throws Exception {
        bring(state);
        int commandsBefore = target.commands.commands().size();

        PeerRequestException refused = assertThrows(PeerRequestException.class, () -> send(request));

        assertEquals(code, refused.code(), refused.getMessage());
        if (code.equals("out-of-order")) {
            assertTrue(refused.getMessage().contains(state.name()) && refused.getMessage().contains(request), refused.getMessage());
        }
        assertEquals(commandsBefore, target.commands.commands().size(), "nothing was run");
        assertEquals(state, state());
    }

    @Test
    void aPrepareOfAMigrationUnderWayIsAConflict() throws Exception {
        target.prepareDiskless(ID, JOB);
        PeerRequestException refused = assertThrows(PeerRequestException.class,
                () -> target.incoming.call("prepare", TargetNode.prepareMessage(ID, JOB, TransferMode.DISKLESS)));
        assertEquals("conflict", refused.code());
    }

    private void send(String request) throws Exception {
        ObjectNode message = TargetNode.migration(ID, JOB);
        switch (request) {
            case "pages" -> target.incoming.pipe("pages", message);
            case "images" -> target.incoming.receive("images", message, new ByteArrayInputStream(new byte[0]));
            default -> target.incoming.call(request, message);
        }
    }

    /** Brings migration {@link #ID} to {@code state} the way its source (or, for a take-over, Slurm) would. */
    private void bring(State state) throws Exception {
        target.prepareDiskless(ID, JOB);
        switch (state) {
            case PREPARED -> { }
            case RESTORE_FAILED -> target.failRestore(ID, JOB);
            case RESTORED -> target.restore(ID, JOB);
            case CONFIRMED -> {
                target.restore(ID, JOB);
                target.confirm(ID, JOB);
            }
            case RESUMED -> {
                target.restore(ID, JOB);
                target.confirm(ID, JOB);
                target.resume(ID, JOB);
            }
            case STARTED_HERE -> {
                target.restore(ID, JOB);
                target.scheduler.set("PENDING", null, 1);
                target.clock.advance(IncomingMigrations.SOURCE_SILENCE.plus(Duration.ofSeconds(1)));
                target.takeOver.takeOverOrphans(IncomingMigrations.SOURCE_SILENCE, "node2");
            }
            default -> throw new IllegalArgumentException(state.name());
        }
        assertEquals(state, state());
    }

    private State state() {
        return target.table.get(ID).orElseThrow().state();
    }

    private static <T> T last(List<T> list) {
        return list.get(list.size() - 1);
    }
}
