package org.lifeboat.agent.migration;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.type.LogicalType;
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
    // Required fields are marked on each record; a number or a boolean must be one, not a string of one.
    private static final ObjectMapper STRICT = strictMapper();

    private PeerMessages() {}

    private static ObjectMapper strictMapper() {
        ObjectMapper mapper = AgentJson.mapper().copy()
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT);
        for (LogicalType type : new LogicalType[] {LogicalType.Integer, LogicalType.Float, LogicalType.Boolean}) {
            mapper.coercionConfigFor(type).setCoercion(CoercionInputShape.String, CoercionAction.Fail);
        }
        return mapper;
    }

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
