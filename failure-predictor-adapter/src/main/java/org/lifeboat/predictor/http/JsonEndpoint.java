package org.lifeboat.predictor.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.lifeboat.predictor.PredictionOutcomes;
import org.lifeboat.predictor.PredictionOutcomes.Outcome;

/**
 * What both prediction intakes share: POST of a bounded JSON object (and, optionally, GET), the token
 * check, strict parsing, and one place that turns every refusal into a status and a message. A
 * request is read and checked completely before the route acts, so a refused one changes nothing.
 */
final class JsonEndpoint implements HttpHandler {

    /** Deeper than any honest payload (Alertmanager's is four levels), shallow enough to bound the parser's work. */
    static final int MAX_NESTING_DEPTH = 32;
    private static final String JSON = "application/json";
    private static final Logger LOG = Logger.getLogger(JsonEndpoint.class.getName());

    /** Acts on a parsed request body; the reply is sent with status 200. */
    @FunctionalInterface
    interface PostRoute {
        ObjectNode handle(JsonNode body) throws RejectedRequest;
    }

    /** Answers a GET with status 200. */
    @FunctionalInterface
    interface GetRoute {
        ObjectNode handle();
    }

    private final String name;
    private final String sourceLabel;
    private final int maxBodyBytes;
    private final BearerToken token;
    private final PostRoute post;
    private final Optional<GetRoute> get;
    private final PredictionOutcomes outcomes;
    private final ObjectMapper mapper;

    /**
     * @param name        for log lines, e.g. "alertmanager webhook"
     * @param sourceLabel the source refused requests are counted under
     */
    JsonEndpoint(String name, String sourceLabel, int maxBodyBytes, BearerToken token, PostRoute post,
                 Optional<GetRoute> get, PredictionOutcomes outcomes) {
        this.name = Objects.requireNonNull(name, "name");
        this.sourceLabel = Objects.requireNonNull(sourceLabel, "sourceLabel");
        this.maxBodyBytes = maxBodyBytes;
        this.token = Objects.requireNonNull(token, "token");
        this.post = Objects.requireNonNull(post, "post");
        this.get = Objects.requireNonNull(get, "get");
        this.outcomes = Objects.requireNonNull(outcomes, "outcomes");
        this.mapper = strictMapper();
    }

    static ObjectMapper strictMapper() {
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING_DEPTH).build())
                .build();
        return new ObjectMapper(factory)
                // A key given twice is ambiguous: refuse it rather than pick one.
                .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        try {
            ObjectNode reply;
            try {
                reply = respond(exchange);
            } catch (RejectedRequest rejected) {
                // Refused before (or while) reading: the rest of the body must still be read for the answer to arrive.
                discardRest(exchange.getRequestBody());
                reply = refuse(exchange, rejected);
                if (rejected.status() == RejectedRequest.NOT_ALLOWED) {
                    exchange.getResponseHeaders().set("Allow", get.isPresent() ? "GET, POST" : "POST");
                }
                send(exchange, rejected.status(), reply);
                return;
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, name + ": answering " + exchange.getRequestMethod() + " failed", e);
                send(exchange, 500, error("internal error"));
                return;
            }
            send(exchange, 200, reply);
        } finally {
            exchange.close();
        }
    }

    private ObjectNode respond(HttpExchange exchange) throws RejectedRequest, IOException {
        String method = exchange.getRequestMethod();
        if (method.equals("GET") && get.isPresent()) {
            requireToken(exchange);
            return get.get().handle();
        }
        if (!method.equals("POST")) {
            throw new RejectedRequest(RejectedRequest.NOT_ALLOWED, "method " + method + " not allowed");
        }
        requireToken(exchange);
        requireJsonContentType(exchange.getRequestHeaders().getFirst("Content-Type"));
        return post.handle(parse(readBody(exchange)));
    }

    private void requireToken(HttpExchange exchange) throws RejectedRequest {
        if (!token.admits(exchange.getRequestHeaders().getFirst("Authorization"))) {
            exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer");
            throw new RejectedRequest(RejectedRequest.UNAUTHORIZED, "a valid 'Authorization: Bearer' token is required");
        }
    }

    private static void requireJsonContentType(String contentType) throws RejectedRequest {
        String mediaType = contentType == null ? "" : contentType.split(";", 2)[0].strip().toLowerCase(Locale.ROOT);
        if (!mediaType.equals(JSON)) {
            throw new RejectedRequest(RejectedRequest.UNSUPPORTED_MEDIA_TYPE,
                    "Content-Type must be " + JSON + ", got '" + (contentType == null ? "" : contentType) + "'");
        }
    }

    /** Reads the body, refusing one over the limit; the stream stays open so a refusal can discard the rest. */
    private byte[] readBody(HttpExchange exchange) throws RejectedRequest, IOException {
        long declared = declaredLength(exchange.getRequestHeaders().getFirst("Content-Length"));
        if (declared > maxBodyBytes) {
            throw tooLarge();
        }
        // A body sent without a length (chunked) is read one byte past the limit to know it is too long.
        byte[] bytes = exchange.getRequestBody().readNBytes(maxBodyBytes + 1);
        if (bytes.length > maxBodyBytes) {
            throw tooLarge();
        }
        return bytes;
    }

    private static long declaredLength(String header) throws RejectedRequest {
        if (header == null) {
            return -1;
        }
        try {
            return Long.parseLong(header.strip());
        } catch (NumberFormatException e) {
            throw new RejectedRequest(RejectedRequest.BAD_REQUEST, "Content-Length is not a number");
        }
    }

    /**
     * Reads and drops what is left of a refused request's body, up to a bound, before answering: a server
     * that closes a connection with unread bytes makes the kernel reset it, and the sender then loses the
     * answer and its message. Beyond the bound the sender is not worth the bandwidth and gets the reset.
     */
    private void discardRest(InputStream body) {
        long bound = 8L * maxBodyBytes;
        byte[] buffer = new byte[64 * 1024];
        try {
            long discarded = 0;
            for (int read = body.read(buffer); read > 0 && discarded < bound; read = body.read(buffer)) {
                discarded += read;
            }
        } catch (IOException e) {
            // The sender went away; answering is still tried, and fails quietly if it is gone.
        }
    }

    private RejectedRequest tooLarge() {
        return new RejectedRequest(RejectedRequest.TOO_LARGE, "request body larger than " + maxBodyBytes + " bytes");
    }

    private JsonNode parse(byte[] body) throws RejectedRequest {
        JsonNode root;
        try {
            root = mapper.readTree(body);
        } catch (JsonProcessingException e) {
            // A broken limit (nesting depth) comes without a location.
            String where = e.getLocation() == null ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw new RejectedRequest(RejectedRequest.BAD_REQUEST, "malformed JSON" + where + ": "
                    + withoutParserInternals(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new RejectedRequest(RejectedRequest.BAD_REQUEST, "malformed JSON: " + e.getMessage());
        }
        if (root == null || root.isMissingNode() || !root.isObject()) {
            throw new RejectedRequest(RejectedRequest.BAD_REQUEST, "the body must be one JSON object");
        }
        return root;
    }

    /** Jackson's messages name its own classes and a redacted source; the sender needs neither. */
    private static String withoutParserInternals(String message) {
        return message.replaceAll("\\[Source: [^;]*; ", "[").replaceAll(" \\(bound as `[^`]*`\\)", "");
    }

    private ObjectNode refuse(HttpExchange exchange, RejectedRequest rejected) {
        LOG.info(name + ": refused " + exchange.getRequestMethod() + " from " + exchange.getRemoteAddress()
                + " with " + rejected.status() + ": " + rejected.getMessage());
        if (rejected.status() != RejectedRequest.NOT_ALLOWED && rejected.status() != RejectedRequest.UNAVAILABLE) {
            outcomes.record(sourceLabel, Outcome.REJECTED.label());
        }
        return error(rejected.getMessage());
    }

    private ObjectNode error(String message) {
        ObjectNode reply = mapper.createObjectNode();
        reply.put("status", "error");
        reply.put("error", message);
        return reply;
    }

    private void send(HttpExchange exchange, int status, ObjectNode reply) throws IOException {
        byte[] body = mapper.writeValueAsBytes(reply);
        exchange.getResponseHeaders().set("Content-Type", JSON);
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }
}
