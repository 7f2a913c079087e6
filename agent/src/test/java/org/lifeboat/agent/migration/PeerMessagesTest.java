package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.peer.PeerRequestException;

/** Both ends read the migration requests through one strict reader: nothing missing is ever defaulted. */
class PeerMessagesTest {

    private static final PrepareRequest PREPARE = new PrepareRequest("job7-a1", 7, 1000, 1000, TransferMode.DISKLESS,
            1 << 20, new ContainerManifest(ContainerManifest.SUPPORTED_VERSION, 4242, 99, 1000, 1000, "/run/lifeboat/containers/c1/root",
                    null, List.of(), List.of(), "/home/user", "/home/user/out", "/home/user/err", "/home/user/.status",
                    List.of("/bin/sleep", "600")), true, null);

    @Test
    void aPrepareReadsBackAsWritten() throws Exception {
        ObjectNode written = PeerMessages.write(PREPARE);

        assertEquals(PREPARE, PeerMessages.read("prepare", written, PrepareRequest.class));
        assertEquals("diskless", written.path("mode").asText());
        assertTrue(!written.has("network"), "a job without its own network sends none");
    }

    @ParameterizedTest(name = "without {0}")
    @ValueSource(strings = {"migration", "job", "uid", "gid", "mode", "expected-bytes", "manifest", "page-server"})
    void aPrepareMissingAFieldIsRefusedNotDefaulted(String field) {
        ObjectNode written = PeerMessages.write(PREPARE);
        written.remove(field);

        PeerRequestException refused = assertThrows(PeerRequestException.class,
                () -> PeerMessages.read("prepare", written, PrepareRequest.class));

        assertEquals("malformed", refused.code());
    }

    @Test
    void anUnknownFieldIsRefused() {
        ObjectNode written = PeerMessages.write(PREPARE);
        written.put("run-as-root", true);

        assertEquals("malformed", assertThrows(PeerRequestException.class,
                () -> PeerMessages.read("prepare", written, PrepareRequest.class)).code());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"{\"migration\":\"../../etc\",\"job\":7}", "{\"migration\":\"job7-a1\",\"job\":0}",
            "{\"migration\":\"job7-a1\",\"job\":\"7\"}", "{\"migration\":\"job7-a1\",\"job\":7.5}", "{\"migration\":\"job7-a1\"}"})
    void aMigrationRequestWithABadIdOrJobIsRefused(String json) throws Exception {
        ObjectNode fields = (ObjectNode) org.lifeboat.agent.json.AgentJson.mapper().readTree(json);

        assertEquals("malformed", assertThrows(PeerRequestException.class,
                () -> PeerMessages.read("restore", fields, MigrationRequest.class)).code());
    }

    @Test
    void theTargetsRepliesReadBackWithoutTheirEnvelopeAndAMissingFieldIsRefused() throws Exception {
        ObjectNode reply = PeerMessages.write(new TargetReplies.Restored(5151, 420, Reports.CRIU_RESTORE));
        reply.put("version", 2).put("status", "ok").put("in-reply-to", "ab".repeat(32));

        TargetReplies.Restored restored = PeerMessages.read("restore", org.lifeboat.agent.peer.PeerClient.handlerFields(reply),
                TargetReplies.Restored.class);

        assertEquals(new TargetReplies.Restored(5151, 420, Reports.CRIU_RESTORE), restored);
        ObjectNode withoutPid = PeerMessages.write(new TargetReplies.Confirmed(true, 5151));
        withoutPid.remove("pid");
        assertEquals("malformed", assertThrows(PeerRequestException.class,
                () -> PeerMessages.read("confirm", withoutPid, TargetReplies.Confirmed.class)).code());
    }
}
