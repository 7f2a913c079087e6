package org.lifeboat.predictor.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;
import java.time.Duration;
import java.util.Iterator;
import java.util.Objects;
import java.util.Set;
import org.lifeboat.predictor.Durations;
import org.lifeboat.predictor.NodeDirectory;
import org.lifeboat.predictor.NodeNames;
import org.lifeboat.predictor.Prediction;
import org.lifeboat.predictor.PredictionBook;
import org.lifeboat.predictor.PredictionBook.Decision;
import org.lifeboat.predictor.PredictionSource;

/**
 * The generic prediction endpoint, for any predictor and for {@code lifeboat predict}:
 *
 * <pre>
 * POST {"node": "node2", "within": "5m", "confidence": 0.9, "reason": "…", "source": "http"|"cli"}
 * POST {"node": "node2", "cancel": true}       withdraws every prediction for node2, from any source
 * GET                                          the book: nodes under evacuation, recent low-confidence predictions
 * </pre>
 *
 * One prediction per node and source: a repeat replaces the previous one (an earlier deadline is passed on).
 */
final class PredictionRequests implements JsonEndpoint.PostRoute, JsonEndpoint.GetRoute {

    static final Set<String> FIELDS = Set.of("node", "within", "confidence", "reason", "source", "cancel");
    private static final Set<PredictionSource> ACCEPTED_SOURCES = Set.of(PredictionSource.HTTP, PredictionSource.CLI);

    private final AcceptedNodes accepted;
    private final NodeDirectory nodes;
    private final PredictionBook book;
    private final Clock clock;
    private final ObjectMapper mapper = new ObjectMapper();

    PredictionRequests(AcceptedNodes accepted, NodeDirectory nodes, PredictionBook book, Clock clock) {
        this.accepted = Objects.requireNonNull(accepted, "accepted");
        this.nodes = Objects.requireNonNull(nodes, "nodes");
        this.book = Objects.requireNonNull(book, "book");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    public ObjectNode handle(JsonNode body) throws RejectedRequest {
        for (Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw badRequest("unknown field \"" + AlertmanagerWebhook.abbreviate(name) + "\" (known: "
                        + String.join(", ", FIELDS.stream().sorted().toList()) + ")");
            }
        }
        String node = text(body, "node", true);
        if (!NodeNames.isValid(node)) {
            throw new RejectedRequest(RejectedRequest.UNPROCESSABLE, "'" + AlertmanagerWebhook.abbreviate(node)
                    + "' is not a node name (letters, digits, '.', '_', '-')");
        }
        PredictionSource source = source(text(body, "source", false));
        boolean cancel = cancel(body.get("cancel"));
        if (cancel && (body.has("within") || body.has("confidence"))) {
            throw badRequest("a cancellation takes no \"within\" or \"confidence\"");
        }
        String reason = text(body, "reason", false);
        Duration within = cancel ? null : within(text(body, "within", true));
        double confidence = cancel ? 0 : confidence(body.get("confidence"));
        new NodeCheck(accepted, nodes).requireAccepted(node, "field node");

        Decision decision = cancel
                ? book.withdrawAll(node, source)
                : book.submit(Prediction.within(node, within, clock.instant(), confidence, source,
                        reason == null ? "no reason given" : reason, source.label() + ":" + node));
        ObjectNode reply = mapper.createObjectNode();
        reply.put("status", "ok");
        reply.put("node", node);
        reply.put("decision", decision.label());
        return reply;
    }

    @Override
    public ObjectNode handle() {
        PredictionBook.Snapshot snapshot = book.snapshot();
        ObjectNode reply = mapper.createObjectNode();
        reply.put("status", "ok");
        ArrayNode evacuating = reply.putArray("evacuating");
        for (PredictionBook.NodeState node : snapshot.evacuating()) {
            ObjectNode entry = evacuating.addObject();
            entry.put("node", node.node());
            entry.put("deadline", node.deadline().toString());
            entry.put("withdrawn-since", node.quietSince() == null ? null : node.quietSince().toString());
            ArrayNode predictions = entry.putArray("predictions");
            node.predictions().forEach(prediction -> predictions.add(describe(prediction)));
        }
        ArrayNode recorded = reply.putArray("recently-recorded");
        snapshot.recentlyRecorded().forEach(prediction -> recorded.add(describe(prediction)));
        return reply;
    }

    private ObjectNode describe(Prediction prediction) {
        ObjectNode entry = mapper.createObjectNode();
        entry.put("node", prediction.node());
        entry.put("deadline", prediction.deadline().toString());
        entry.put("confidence", prediction.confidence());
        entry.put("source", prediction.source().label());
        entry.put("reason", prediction.reason());
        entry.put("key", prediction.dedupKey());
        return entry;
    }

    private static String text(JsonNode body, String field, boolean required) throws RejectedRequest {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            if (required) {
                throw badRequest("\"" + field + "\" is missing");
            }
            return null;
        }
        if (!value.isTextual()) {
            throw badRequest("\"" + field + "\" must be a string");
        }
        return value.asText();
    }

    private static PredictionSource source(String label) throws RejectedRequest {
        if (label == null) {
            return PredictionSource.HTTP;
        }
        PredictionSource source = PredictionSource.fromLabel(label).orElse(null);
        if (source == null || !ACCEPTED_SOURCES.contains(source)) {
            throw new RejectedRequest(RejectedRequest.UNPROCESSABLE, "\"source\" must be \"http\" or \"cli\", got \""
                    + AlertmanagerWebhook.abbreviate(label) + "\"");
        }
        return source;
    }

    private static boolean cancel(JsonNode value) throws RejectedRequest {
        if (value == null || value.isNull()) {
            return false;
        }
        if (!value.isBoolean()) {
            throw badRequest("\"cancel\" must be true or false");
        }
        return value.booleanValue();
    }

    private static Duration within(String text) throws RejectedRequest {
        try {
            return Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new RejectedRequest(RejectedRequest.UNPROCESSABLE, "\"within\": " + e.getMessage());
        }
    }

    private static double confidence(JsonNode value) throws RejectedRequest {
        if (value == null || !value.isNumber()) {
            throw badRequest("\"confidence\" must be a number from 0 to 1");
        }
        double confidence = value.doubleValue();
        if (!(confidence >= 0 && confidence <= 1)) {
            throw new RejectedRequest(RejectedRequest.UNPROCESSABLE, "\"confidence\" must be from 0 to 1, got " + value.asText());
        }
        return confidence;
    }

    private static RejectedRequest badRequest(String message) {
        return new RejectedRequest(RejectedRequest.BAD_REQUEST, message);
    }
}
