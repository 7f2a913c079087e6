package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.criu.CriuException;
import org.lifeboat.agent.peer.PeerRequestException;
import org.lifeboat.agent.process.CommandException;

class FailureReasonTest {

    @Test
    void aFailureIsNamedAfterItsPhase() {
        IOException failure = new IOException("boom");

        assertEquals(FailureReason.PREPARE_FAILED, FailureReason.classify(MigrationPhase.PREPARE_TARGET, failure));
        assertEquals(FailureReason.DUMP_FAILED, FailureReason.classify(MigrationPhase.DUMP, failure));
        assertEquals(FailureReason.TRANSFER_FAILED, FailureReason.classify(MigrationPhase.SEND_IMAGES, failure));
        assertEquals(FailureReason.RESTORE_FAILED, FailureReason.classify(MigrationPhase.RESTORE, failure));
        assertEquals(FailureReason.RESTORE_FAILED, FailureReason.classify(MigrationPhase.CONFIRM, failure));
        assertEquals(FailureReason.CLEANUP_FAILED, FailureReason.classify(MigrationPhase.CLEANUP, failure));
        assertEquals(FailureReason.OTHER, FailureReason.classify(MigrationPhase.ROLLBACK, failure));
        assertEquals(FailureReason.OTHER, FailureReason.classify(null, failure));
    }

    @Test
    void aTargetThatCannotBeConnectedToIsUnreachableInAnyPhase() {
        // As PeerClient reports it: its own message, the socket's exception as the cause.
        IOException refused = new IOException("cannot connect to the agent at 10.241.0.2:9465: Connection refused",
                new ConnectException("Connection refused"));

        assertEquals(FailureReason.TARGET_UNREACHABLE, FailureReason.classify(MigrationPhase.PREPARE_TARGET, refused));
        assertEquals(FailureReason.TARGET_UNREACHABLE, FailureReason.classify(MigrationPhase.RESTORE, refused));
    }

    @Test
    void aTimeLimitIsATimeoutWhereverItIsWrapped() {
        // CommandRunner's time limit inside CRIU's exception, as a dump that hangs fails.
        CriuException criu = new CriuException("CRIU dump of pid 7 did not complete: criu dump ... did not finish",
                new CommandException("criu dump did not finish within 60000 ms and was killed", new TimeoutException("60000 ms")));
        IOException noReply = new IOException("the agent at 10.241.0.2:9465 did not reply within 1800000 ms",
                new SocketTimeoutException("no complete message in time"));

        assertEquals(FailureReason.TIMEOUT, FailureReason.classify(MigrationPhase.DUMP, criu));
        assertEquals(FailureReason.TIMEOUT, FailureReason.classify(MigrationPhase.RESTORE, noReply));
    }

    @Test
    void aRefusalFromTheTargetIsNamedAfterThePhase() {
        PeerRequestException refused = new PeerRequestException("no-space", "the agent at 10.241.0.2:9465 refused: not enough space");

        assertEquals(FailureReason.PREPARE_FAILED, FailureReason.classify(MigrationPhase.PREPARE_TARGET, refused));
    }

    @Test
    void wireNamesAreLowerCaseWithHyphens() {
        assertEquals("target-unreachable", FailureReason.TARGET_UNREACHABLE.wireName());
        assertEquals("other", FailureReason.OTHER.wireName());
    }
}
