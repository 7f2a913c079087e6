package org.lifeboat.predictor.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class AcceptedNodesTest {

    @Test
    void unsetMeansTheAgentsOwnNodeOnly() {
        AcceptedNodes accepted = AcceptedNodes.from(Optional.empty(), "node2");

        assertTrue(accepted.accepts("node2"));
        assertFalse(accepted.accepts("node3"));
        assertEquals("node2", accepted.toString());
    }

    @Test
    void aListNamesExactlyTheNodesAccepted() {
        AcceptedNodes accepted = AcceptedNodes.from(Optional.of(List.of("node3", "node1")), "node2");

        assertTrue(accepted.accepts("node1"));
        assertTrue(accepted.accepts("node3"));
        assertFalse(accepted.accepts("node2"));
        assertFalse(accepted.accepts("node10"));
        assertEquals("node1, node3", accepted.toString());
    }

    @Test
    void aStarAcceptsEveryNode() {
        AcceptedNodes accepted = AcceptedNodes.from(Optional.of(List.of("*")), "node2");

        assertTrue(accepted.accepts("node7"));
        assertEquals("every node", accepted.toString());
    }
}
