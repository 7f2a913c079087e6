package org.lifeboat.predictor.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.lifeboat.predictor.MutableClock;
import org.lifeboat.predictor.config.PredictorConfig;

/**
 * Thousands of generated request bodies (random JSON, mutated Alertmanager and prediction payloads,
 * wrong types, broken bytes, deep nesting, oversized bodies) against both intakes on a real server.
 * Every answer must be a 2xx or a 4xx within a bounded time, a 4xx must leave everything as it was, and
 * nothing but Slurm's nodes may ever be drained or evacuated. The seed is fixed so a failure replays;
 * the failing body is printed.
 */
class PredictionIntakeRandomInputTest {

    private static final long SEED = 0x7_A1E7_F00DL;
    // -Dlifeboat.fuzz.inputs=1000000 is the benchmark (bench/fuzz-benchmark.sh), the default the CI run.
    private static final int INPUTS = Integer.getInteger("lifeboat.fuzz.inputs", 4_000);
    private static final Set<String> SLURM_NODES = Set.of("node1", "node2", "node3");
    private static final String[] NODE_VALUES = {"node1", "node2", "node3", "node2:9100", "node3.cluster.example:9100",
        "node9", "", "node 2", "../../etc", "nöde", ":", "node1\n", "x".repeat(300)};
    private static final String[] GOOD_NODES = {"node1", "node2", "node3", "node2:9100", "node3.cluster.example:9100"};
    private static final String[] GOOD_LEAD_TIMES = {"5m", "90s", "1h30m", "0s"};
    private static final String[] GOOD_CONFIDENCES = {"0.9", "1", "0.5", "0"};
    private static final String[] TEXT_VALUES = {"firing", "resolved", "pending", "4", "3", "5m", "0.9", "1.5", "-1", "NaN",
        "1e309", "soon", "", "\u0000", "\uD800", "cli", "http", "edac", "true", "2026-03-01T11:58:00Z", "0001-01-01T00:00:00Z"};
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    @Test
    @Timeout(300)
    void everyInputGetsA2xxOrA4xxAndRefusedOnesChangeNothing() throws Exception {
        Random random = new Random(SEED);
        Logger intakeLog = Logger.getLogger("org.lifeboat.predictor");
        Level level = intakeLog.getLevel();
        intakeLog.setLevel(Level.SEVERE);
        List<String> problems = new ArrayList<>();
        int accepted = 0;
        int refused = 0;
        try (IntakeServer intake = new IntakeServer(PredictorConfig.defaults(),
                new MutableClock(Instant.parse("2026-03-01T12:00:00Z")))) {
            long started = System.nanoTime();
            for (int i = 0; i < INPUTS && problems.size() < 5; i++) {
                boolean webhook = random.nextBoolean();
                byte[] body = webhook ? webhookInput(random) : predictionInput(random);
                String contentType = random.nextInt(50) == 0 ? "text/plain" : "application/json";
                String before = state(intake);
                HttpResponse<String> response = intake.send(HttpRequest.newBuilder(intake.uri(
                                webhook ? IntakeServer.ALERTMANAGER_PATH : IntakeServer.PREDICTIONS_PATH))
                        .header("Content-Type", contentType)
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
                int status = response.statusCode();
                String problem = null;
                if (status >= 200 && status < 300) {
                    accepted++;
                } else if (status >= 400 && status < 500) {
                    refused++;
                    if (!state(intake).equals(before)) {
                        problem = "refused with " + status + " but the state changed";
                    } else if (!JSON.readTree(response.body()).path("error").isTextual()) {
                        problem = "refused with " + status + " without a message: " + response.body();
                    }
                } else {
                    problem = "answered " + status + ": " + response.body();
                }
                if (problem != null) {
                    problems.add("input " + i + " " + preview(body) + ": " + problem);
                }
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            Runtime runtime = Runtime.getRuntime();
            System.out.printf("HTTP intake fuzz: %d inputs in %.1f s (%.0f/s), %d accepted, %d refused, %d misbehaved,"
                    + " heap %d MiB%n", INPUTS, seconds, INPUTS / seconds, accepted, refused, problems.size(),
                    (runtime.totalMemory() - runtime.freeMemory()) >> 20);
            assertEquals(List.of(), problems);
            assertTrue(accepted > INPUTS / 20, "too few accepted inputs to exercise the book: " + accepted);
            assertTrue(refused > INPUTS / 2, "too few refused inputs to exercise the checks: " + refused);
            intake.evacuator.evacuations.forEach(evacuation -> assertTrue(SLURM_NODES.contains(evacuation.node()), evacuation.node()));
            intake.drainer.calls.forEach(call -> assertTrue(SLURM_NODES.contains(call.split(" ")[1]), call));
            assertEquals(200, intake.postJson(IntakeServer.PREDICTIONS_PATH,
                    "{\"node\":\"node1\",\"cancel\":true}").statusCode(), "a well-formed request after the storm");
        } finally {
            intakeLog.setLevel(level);
        }
    }

    /**
     * Everything a refused request must not have changed: the book, and how many evacuations,
     * deadline changes, cancellations and drain calls there were (those only ever grow, so a
     * count shows any of them, and stays cheap over a million inputs).
     */
    private static String state(IntakeServer intake) {
        return intake.book.snapshot() + "|" + intake.evacuator.evacuations.size() + "|" + intake.evacuator.advances.size() + "|"
                + intake.evacuator.cancellations.size() + "|" + intake.drainer.calls.size();
    }

    private static byte[] webhookInput(Random random) throws Exception {
        ObjectNode notification = NODES.objectNode();
        notification.put("receiver", "lifeboat");
        notification.put("status", "firing");
        ArrayNode alerts = notification.putArray("alerts");
        for (int i = random.nextInt(4); i >= 0; i--) {
            ObjectNode alert = alerts.addObject();
            alert.put("status", random.nextInt(3) == 0 ? "resolved" : "firing");
            ObjectNode labels = alert.putObject("labels");
            labels.put("alertname", "EdacCorrectableErrors");
            labels.put(random.nextBoolean() ? "node" : "instance", mostlyGood(random, GOOD_NODES, NODE_VALUES));
            ObjectNode annotations = alert.putObject("annotations");
            if (random.nextBoolean()) {
                annotations.put("lifeboat_lead_time", mostlyGood(random, GOOD_LEAD_TIMES, TEXT_VALUES));
            }
            if (random.nextBoolean()) {
                annotations.put("lifeboat_confidence", mostlyGood(random, GOOD_CONFIDENCES, TEXT_VALUES));
            }
            alert.put("startsAt", "2026-03-01T11:58:00.123Z");
            alert.put("endsAt", "0001-01-01T00:00:00Z");
            alert.put("fingerprint", "f" + random.nextInt(20));
        }
        notification.putObject("groupLabels");
        notification.putObject("commonLabels");
        notification.putObject("commonAnnotations");
        notification.put("externalURL", "http://alertmanager:9093");
        notification.put("version", "4");
        notification.put("groupKey", "{}:{}");
        notification.put("truncatedAlerts", 0);
        return mutate(random, notification);
    }

    private static byte[] predictionInput(Random random) throws Exception {
        ObjectNode prediction = NODES.objectNode();
        prediction.put("node", mostlyGood(random, GOOD_NODES, NODE_VALUES));
        if (random.nextInt(4) == 0) {
            prediction.put("cancel", true);
        } else {
            prediction.put("within", mostlyGood(random, GOOD_LEAD_TIMES, TEXT_VALUES));
            prediction.put("confidence", random.nextInt(5) == 0 ? random.nextGaussian() : random.nextDouble());
        }
        if (random.nextBoolean()) {
            prediction.put("reason", pick(random, TEXT_VALUES));
        }
        if (random.nextBoolean()) {
            prediction.put("source", mostlyGood(random, new String[] {"http", "cli"}, TEXT_VALUES));
        }
        return mutate(random, prediction);
    }

    /** Leaves the payload as it is, or breaks it in one of many ways. */
    private static byte[] mutate(Random random, ObjectNode payload) throws Exception {
        switch (random.nextInt(12)) {
            case 0, 1, 2:
                return JSON.writeValueAsBytes(payload);
            case 3:
                replaceSomeValue(random, payload, randomJson(random, random.nextInt(4)));
                return JSON.writeValueAsBytes(payload);
            case 4:
                removeSomeField(random, payload);
                return JSON.writeValueAsBytes(payload);
            case 5:
                return randomJson(random, 1 + random.nextInt(6)).toString().getBytes(StandardCharsets.UTF_8);
            case 6: {
                byte[] bytes = JSON.writeValueAsBytes(payload);
                for (int flips = 1 + random.nextInt(4); flips > 0; flips--) {
                    bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
                }
                return bytes;
            }
            case 7: {
                byte[] bytes = JSON.writeValueAsBytes(payload);
                return java.util.Arrays.copyOf(bytes, random.nextInt(bytes.length));
            }
            case 8: {
                int depth = random.nextBoolean() ? 20 + random.nextInt(20) : 10_000 + random.nextInt(100_000);
                String open = random.nextBoolean() ? "[" : "{\"a\":";
                String close = open.equals("[") ? "]" : "}";
                return ("{\"version\":\"4\",\"alerts\":" + open.repeat(depth) + "1" + close.repeat(depth) + "}")
                        .getBytes(StandardCharsets.UTF_8);
            }
            case 9: {
                String big = "x".repeat(random.nextInt(10) == 0 ? 1_100_000 + random.nextInt(200_000) : random.nextInt(200_000));
                replaceSomeValue(random, payload, NODES.textNode(big));
                return JSON.writeValueAsBytes(payload);
            }
            case 10: {
                String text = JSON.writeValueAsString(payload);
                return text.replaceFirst("\\{\"", "{\"node\":\"node1\",\"").getBytes(StandardCharsets.UTF_8);
            }
            default: {
                byte[] noise = new byte[random.nextInt(300)];
                random.nextBytes(noise);
                return noise;
            }
        }
    }

    private static JsonNode randomJson(Random random, int depth) {
        switch (depth <= 0 ? random.nextInt(6) : random.nextInt(8)) {
            case 0: return NODES.nullNode();
            case 1: return NODES.booleanNode(random.nextBoolean());
            case 2: return NODES.numberNode(random.nextLong());
            case 3: return NODES.numberNode(random.nextDouble() * 1e300);
            case 4: return NODES.textNode(pick(random, TEXT_VALUES));
            case 5: return NODES.textNode(pick(random, NODE_VALUES));
            case 6: {
                ArrayNode array = NODES.arrayNode();
                for (int i = random.nextInt(4); i > 0; i--) {
                    array.add(randomJson(random, depth - 1));
                }
                return array;
            }
            default: {
                ObjectNode object = NODES.objectNode();
                String[] keys = {"version", "alerts", "status", "labels", "annotations", "node", "within", "confidence", "cancel", "x"};
                for (int i = random.nextInt(4); i > 0; i--) {
                    object.set(pick(random, keys), randomJson(random, depth - 1));
                }
                return object;
            }
        }
    }

    private static void replaceSomeValue(Random random, JsonNode node, JsonNode replacement) {
        List<ObjectNode> objects = new ArrayList<>();
        collectObjects(node, objects);
        ObjectNode target = objects.get(random.nextInt(objects.size()));
        List<String> names = new ArrayList<>();
        target.fieldNames().forEachRemaining(names::add);
        target.set(names.isEmpty() ? "extra" : names.get(random.nextInt(names.size())), replacement);
    }

    private static void removeSomeField(Random random, JsonNode node) {
        List<ObjectNode> objects = new ArrayList<>();
        collectObjects(node, objects);
        ObjectNode target = objects.get(random.nextInt(objects.size()));
        Iterator<String> names = target.fieldNames();
        if (names.hasNext()) {
            target.remove(names.next());
        }
    }

    private static void collectObjects(JsonNode node, List<ObjectNode> objects) {
        if (node.isObject()) {
            objects.add((ObjectNode) node);
        }
        node.elements().forEachRemaining(child -> collectObjects(child, objects));
    }

    /** A valid value most of the time, so that enough inputs get through the checks to exercise the book. */
    private static String mostlyGood(Random random, String[] good, String[] any) {
        return random.nextInt(10) < 8 ? pick(random, good) : pick(random, any);
    }

    private static String pick(Random random, String[] values) {
        return values[random.nextInt(values.length)];
    }

    private static String preview(byte[] body) {
        return body.length + " bytes " + HexFormat.of().formatHex(body, 0, Math.min(body.length, 120));
    }
}
