package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.peer.PeerRequestException;

/** What another agent may ask of a staying part: refused unless exactly of its shape (ids become paths). */
class PartRequestsTest {

    private static ObjectNode hold(String migration, long job, String coordinator) {
        return AgentJson.mapper().createObjectNode().put("migration", migration).put("job", job).put("coordinator", coordinator);
    }

    @Test
    void aWellFormedHoldIsRead() throws PeerRequestException {
        assertEquals(new PartRequests.Hold("job42-abcdef12", 42, "node1"),
                PeerMessages.read("part-move", hold("job42-abcdef12", 42, "node1"), PartRequests.Hold.class));
    }

    @Test
    void hostileHoldsAreMalformed() {
        for (ObjectNode message : new ObjectNode[] {
                hold("../../etc", 42, "node1"), hold("job42-abcdef12", -1, "node1"), hold("job42-abcdef12", 42, "node1; reboot"),
                hold("job42-abcdef12", 42, "node1").put("extra", 1), hold("x".repeat(65), 42, "node1"),
                AgentJson.mapper().createObjectNode().put("migration", "job42-abcdef12").put("job", 42)}) {
            PeerRequestException error = assertThrows(PeerRequestException.class,
                    () -> PeerMessages.read("part-move", message, PartRequests.Hold.class), message::toString);
            assertEquals(PeerMessages.MALFORMED, error.code(), message::toString);
        }
    }

    @Test
    void aDecisionMustSayCommitAsABoolean() {
        ObjectNode asText = AgentJson.mapper().createObjectNode().put("migration", "job42-abcdef12").put("commit", "true");

        assertEquals(PeerMessages.MALFORMED, assertThrows(PeerRequestException.class,
                () -> PeerMessages.read("part-decision", asText, PartRequests.Decision.class)).code());
    }

    @Test
    void onlyItsOwnRequestsAreItsToHandle() {
        assertEquals(true, PartRequests.handles("part-move"));
        assertEquals(true, PartRequests.handles("part-decision"));
        assertEquals(false, PartRequests.handles("prepare"));
    }
}
