package org.lifeboat.predictor.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.logging.Logger;
import org.lifeboat.predictor.Durations;
import org.lifeboat.predictor.NodeDirectory;
import org.lifeboat.predictor.Prediction;
import org.lifeboat.predictor.PredictionBook;
import org.lifeboat.predictor.PredictionBook.Decision;
import org.lifeboat.predictor.PredictionSource;
import org.lifeboat.predictor.config.AlertmanagerIntakeConfig;

/**
 * Reads Alertmanager's webhook notification (format version 4) and turns each alert into a prediction
 * (status "firing") or a withdrawal ("resolved"). The whole notification is checked first (every alert
 * must name a known node and carry valid values) and only then applied, so a refused one changes nothing.
 *
 * <p>An alert's prediction key is its fingerprint, which Alertmanager derives from its labels: repeats of
 * one alert, which Alertmanager sends every {@code repeat_interval} and with every change to its group,
 * are the same prediction.
 */
final class AlertmanagerWebhook implements JsonEndpoint.PostRoute {

    static final String SUPPORTED_VERSION = "4";
    // What Alertmanager writes for "no time" (Go's zero time).
    private static final Instant GO_ZERO_TIME = Instant.parse("0001-01-01T00:00:00Z");
    private static final Logger LOG = Logger.getLogger(AlertmanagerWebhook.class.getName());

    private final AlertmanagerIntakeConfig config;
    private final NodeLabelRule nodeRule;
    private final AcceptedNodes accepted;
    private final NodeDirectory nodes;
    private final PredictionBook book;
    private final Clock clock;
    private final ObjectMapper mapper = new ObjectMapper();

    AlertmanagerWebhook(AlertmanagerIntakeConfig config, AcceptedNodes accepted, NodeDirectory nodes, PredictionBook book,
                        Clock clock) {
        this.config = Objects.requireNonNull(config, "config");
        this.nodeRule = NodeLabelRule.from(config);
        this.accepted = Objects.requireNonNull(accepted, "accepted");
        this.nodes = Objects.requireNonNull(nodes, "nodes");
        this.book = Objects.requireNonNull(book, "book");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    public ObjectNode handle(JsonNode body) throws RejectedRequest {
        JsonNode version = body.get("version");
        if (version == null || !version.isTextual()) {
            throw new RejectedRequest(RejectedRequest.BAD_REQUEST, "not an Alertmanager webhook notification: no \"version\" string");
        }
        if (!version.asText().equals(SUPPORTED_VERSION)) {
            throw new RejectedRequest(RejectedRequest.UNPROCESSABLE, "webhook version '" + abbreviate(version.asText())
                    + "' is not supported; Lifeboat reads version " + SUPPORTED_VERSION);
        }
        JsonNode alerts = body.get("alerts");
        if (alerts == null || !alerts.isArray()) {
            throw new RejectedRequest(RejectedRequest.BAD_REQUEST, "not an Alertmanager webhook notification: no \"alerts\" array");
        }
        if (body.path("truncatedAlerts").asLong(0) > 0) {
            LOG.warning("Alertmanager left out " + body.path("truncatedAlerts").asLong() + " alerts of group "
                    + body.path("groupKey").asText("?") + " (max_alerts); they arrive with a later notification");
        }
        List<AlertChange> changes = new ArrayList<>();
        NodeCheck nodeCheck = new NodeCheck(accepted, nodes);
        Instant now = clock.instant();
        for (int index = 0; index < alerts.size(); index++) {
            changes.add(read(alerts.get(index), index, nodeCheck, now));
        }

        ArrayNode decisions = mapper.createArrayNode();
        for (AlertChange change : changes) {
            Decision decision = change.prediction() != null
                    ? book.submit(change.prediction())
                    : book.withdraw(change.node(), change.key(), PredictionSource.ALERTMANAGER);
            decisions.addObject().put("node", change.node()).put("key", change.key()).put("decision", decision.label());
        }
        ObjectNode reply = mapper.createObjectNode();
        reply.put("status", "ok");
        reply.set("alerts", decisions);
        return reply;
    }

    /** A checked alert: a prediction when firing, a withdrawal (prediction null) when resolved. */
    private record AlertChange(String node, String key, Prediction prediction) {}

    private AlertChange read(JsonNode alert, int index, NodeCheck nodeCheck, Instant now) throws RejectedRequest {
        String where = "alert " + index;
        if (!alert.isObject()) {
            throw badRequest(where + " is not an object");
        }
        String status = requiredText(alert, "status", where);
        if (!status.equals("firing") && !status.equals("resolved")) {
            throw badRequest(where + ": status must be \"firing\" or \"resolved\", got \"" + abbreviate(status) + "\"");
        }
        Map<String, String> labels = stringMap(alert, "labels", where, true);
        Map<String, String> annotations = stringMap(alert, "annotations", where, false);
        where = where + (labels.containsKey("alertname") ? " (" + abbreviate(labels.get("alertname")) + ")" : "");

        NodeLabelRule.Match match = nodeRule.nodeFor(labels);
        if (!match.found()) {
            throw new RejectedRequest(RejectedRequest.UNPROCESSABLE, where + ": cannot tell the node: " + match.problem());
        }
        nodeCheck.requireAccepted(match.node(), where + ", label " + match.from());
        String key = "alertmanager:" + fingerprint(alert, labels, where);
        if (status.equals("resolved")) {
            return new AlertChange(match.node(), key, null);
        }

        Duration leadTime = leadTime(labels, annotations, where);
        double confidence = confidence(labels, annotations, where);
        Instant startsAt = startsAt(alert, where);
        // A Prometheus clock ahead of ours must not push the deadline later.
        Instant from = startsAt == null || startsAt.isAfter(now) ? now : startsAt;
        String summary = annotations.getOrDefault("summary", annotations.getOrDefault("description", ""));
        String reason = labels.getOrDefault("alertname", "alert") + (summary.isBlank() ? "" : ": " + summary);
        return new AlertChange(match.node(), key,
                new Prediction(match.node(), from.plus(leadTime), confidence, PredictionSource.ALERTMANAGER, reason, key));
    }

    private Duration leadTime(Map<String, String> labels, Map<String, String> annotations, String where) throws RejectedRequest {
        String text = annotations.getOrDefault(config.leadTimeKey(), labels.get(config.leadTimeKey()));
        if (text == null) {
            return config.defaultLeadTime();
        }
        try {
            return Durations.parse(text.strip());
        } catch (IllegalArgumentException e) {
            throw new RejectedRequest(RejectedRequest.UNPROCESSABLE, where + ": " + config.leadTimeKey() + ": " + e.getMessage());
        }
    }

    private double confidence(Map<String, String> labels, Map<String, String> annotations, String where) throws RejectedRequest {
        String text = annotations.getOrDefault(config.confidenceKey(), labels.get(config.confidenceKey()));
        if (text == null) {
            return config.defaultConfidence();
        }
        try {
            double confidence = Double.parseDouble(text.strip());
            if (confidence >= 0 && confidence <= 1) {
                return confidence;
            }
        } catch (NumberFormatException e) {
            // Answered below, with the same message as a number out of range.
        }
        throw new RejectedRequest(RejectedRequest.UNPROCESSABLE, where + ": " + config.confidenceKey()
                + " must be a number from 0 to 1, got '" + abbreviate(text) + "'");
    }

    private static Instant startsAt(JsonNode alert, String where) throws RejectedRequest {
        JsonNode startsAt = alert.get("startsAt");
        if (startsAt == null || startsAt.isNull()) {
            return null;
        }
        if (!startsAt.isTextual()) {
            throw badRequest(where + ": startsAt must be an RFC 3339 time string");
        }
        try {
            Instant instant = OffsetDateTime.parse(startsAt.asText()).toInstant();
            return instant.equals(GO_ZERO_TIME) ? null : instant;
        } catch (DateTimeParseException e) {
            throw badRequest(where + ": startsAt '" + abbreviate(startsAt.asText()) + "' is not an RFC 3339 time");
        }
    }

    /** Alertmanager's own fingerprint (a hash of the labels) when present; otherwise the same idea computed here. */
    private static String fingerprint(JsonNode alert, Map<String, String> labels, String where) throws RejectedRequest {
        JsonNode fingerprint = alert.get("fingerprint");
        if (fingerprint != null && !fingerprint.isNull()) {
            if (!fingerprint.isTextual() || fingerprint.asText().isEmpty() || fingerprint.asText().length() > 64) {
                throw badRequest(where + ": fingerprint must be a non-empty string of at most 64 characters");
            }
            return fingerprint.asText();
        }
        try {
            MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
            for (Map.Entry<String, String> label : new TreeMap<>(labels).entrySet()) {
                sha256.update((label.getKey() + "\0" + label.getValue() + "\0").getBytes(StandardCharsets.UTF_8));
            }
            return "labels-" + HexFormat.of().formatHex(sha256.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    private static String requiredText(JsonNode object, String field, String where) throws RejectedRequest {
        JsonNode value = object.get(field);
        if (value == null || !value.isTextual()) {
            throw badRequest(where + ": \"" + field + "\" must be a string");
        }
        return value.asText();
    }

    private static Map<String, String> stringMap(JsonNode object, String field, String where, boolean required)
            throws RejectedRequest {
        JsonNode value = object.get(field);
        if (value == null || value.isNull()) {
            if (required) {
                throw badRequest(where + ": \"" + field + "\" is missing");
            }
            return Map.of();
        }
        if (!value.isObject()) {
            throw badRequest(where + ": \"" + field + "\" must be an object of strings");
        }
        Map<String, String> map = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> entries = value.fields(); entries.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = entries.next();
            if (!entry.getValue().isTextual()) {
                throw badRequest(where + ": " + field + "." + abbreviate(entry.getKey()) + " must be a string");
            }
            map.put(entry.getKey(), entry.getValue().asText());
        }
        return map;
    }

    private static RejectedRequest badRequest(String message) {
        return new RejectedRequest(RejectedRequest.BAD_REQUEST, message);
    }

    /** Values quoted in messages are cut, so a hostile one cannot fill a log line or a reply. */
    static String abbreviate(String text) {
        return text.length() <= 64 ? text : text.substring(0, 64) + "…";
    }
}
