package org.lifeboat.agent.migration;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Objects;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.peer.PeerRequestException;

/**
 * The peer requests of a move across nodes (see {@link StayingParts}) as the staying node's agent
 * answers them: "part-move" holds this node's part of the job in place, ready, and answers then;
 * "part-decision" tells it whether the job was requeued.
 */
public final class PartRequests {

    /** part-move: hold this node's part of the job in place for the move that {@code coordinator} runs. */
    public record Hold(
            @JsonProperty(value = "migration", required = true) String migration,
            @JsonProperty(value = "job", required = true) long job,
            @JsonProperty(value = "coordinator", required = true) String coordinator) {

        public Hold {
            MigrationRequest.checkId(migration);
            if (job <= 0) {
                throw new IllegalArgumentException("job must be positive, not " + job);
            }
            if (coordinator == null || !coordinator.matches("[A-Za-z0-9._-]{1,255}")) {
                throw new IllegalArgumentException("bad node name '" + coordinator + "'");
            }
        }
    }

    /** part-decision: the coordinator requeued the job (commit) or gave the move up. */
    public record Decision(
            @JsonProperty(value = "migration", required = true) String migration,
            @JsonProperty(value = "commit", required = true) boolean commit) {

        public Decision {
            MigrationRequest.checkId(migration);
        }
    }

    private final MigrationService migrations;

    public PartRequests(MigrationService migrations) {
        this.migrations = Objects.requireNonNull(migrations, "migrations");
    }

    /** Whether the request is one of these. */
    public static boolean handles(String request) {
        return request.equals(StayingParts.MOVE_REQUEST) || request.equals(StayingParts.DECISION_REQUEST);
    }

    public ObjectNode call(String request, ObjectNode message) throws PeerRequestException {
        if (request.equals(StayingParts.MOVE_REQUEST)) {
            Hold hold = PeerMessages.read(request, message, Hold.class);
            try {
                migrations.holdPartInPlace(hold.migration(), hold.job(), hold.coordinator());
            } catch (MigrationException e) {
                throw new PeerRequestException(e.reason().name().toLowerCase().replace('_', '-'), e.getMessage());
            }
        } else if (request.equals(StayingParts.DECISION_REQUEST)) {
            Decision decision = PeerMessages.read(request, message, Decision.class);
            migrations.decidePart(decision.migration(), decision.commit());
        } else {
            throw new PeerRequestException("unknown-request", "unknown request '" + request + "'");
        }
        return AgentJson.mapper().createObjectNode();
    }
}
