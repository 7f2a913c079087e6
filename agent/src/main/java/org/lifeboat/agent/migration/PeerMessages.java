package org.lifeboat.agent.migration;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.peer.PeerRequestException;

/**
 * The migration requests between agents, as records both ends share: written from a record, read
 * strictly into one (an unknown field, a missing one or a wrong type is refused as "malformed",
 * never defaulted).
 */
public final class PeerMessages {

    public static final String MALFORMED = "malformed";
    private static final ObjectMapper STRICT = AgentJson.mapper().copy()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT);

    private PeerMessages() {}

    public static ObjectNode write(Record message) {
        return STRICT.valueToTree(message);
    }

    /** Reads the request's fields into {@code type}; anything not exactly of its shape is refused. */
    public static <T extends Record> T read(String request, ObjectNode fields, Class<T> type) throws PeerRequestException {
        try {
            return STRICT.treeToValue(fields, type);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            String reason = e instanceof JsonProcessingException json ? json.getOriginalMessage() : e.getMessage();
            throw new PeerRequestException(MALFORMED, request + ": " + reason);
        }
    }
}
