package org.lifeboat.agent.socket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.registry.JobRegistry;
import org.lifeboat.agent.registry.RegistryStore;

/**
 * Thousands of hostile or broken inputs, each on a connection of its own: every one must end in
 * replies or a close within a bounded time, and the agent must serve normally afterwards. The seed
 * is fixed so a failure can be replayed; the failing input is printed in hex. Input i is made from
 * its own seed, so any count can run in bounded memory: {@code -Dlifeboat.fuzz.inputs=1000000}
 * is the benchmark (bench/fuzz-benchmark.sh), the default the CI run.
 */
class AgentSocketServerRandomInputTest {

    private static final long SEED = 0x1_1FEB_0A75L;
    private static final int INPUTS = Integer.getInteger("lifeboat.fuzz.inputs", 6_000);
    // Inputs in flight at once: bounds the futures held, whatever the count.
    private static final int BATCH = 2_000;
    private static final Duration PER_CONNECTION = Duration.ofSeconds(10);
    private static final int CLIENTS = 8;
    private static final ObjectMapper JSON = AgentJson.mapper();
    // The request types the handler knows, and "invalid": every one is counted, from zero, from the start.
    private static final Set<String> REQUEST_LABELS =
            Set.of("step-start", "task-start", "step-end", "job-end", "status", "job", "migrate", "history", "invalid");

    @TempDir
    Path directory;

    @Test
    @Timeout(120)
    void everyRandomInputGetsRepliesOrACloseAndTheAgentKeepsServing() throws Exception {
        Path socket = directory.resolve("agent.sock");
        JobRegistry registry = new JobRegistry(new RegistryStore(Files.createDirectory(directory.resolve("state"))),
                Clock.systemUTC());
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        AgentSocketServer server = new AgentSocketServer(socket, new RequestHandler(registry, new Authorizer(64030), RequestHandlerTest::refuseMigrations, JobNetworkRequests.NONE, List::of),
                meters, AgentSocketServer.REQUEST_TIMEOUT);
        int threadsBefore = Thread.activeCount();
        AtomicInteger repliesReceived = new AtomicInteger();
        List<String> problems;

        try (QuietLogs quiet = QuietLogs.socketWarnings()) {
            server.start();
            try {
                ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
                problems = new ArrayList<>();
                long started = System.nanoTime();
                long peakHeap = 0;
                for (int first = 0; first < INPUTS; first += BATCH) {
                    List<Future<String>> outcomes = new ArrayList<>();
                    for (int i = first; i < Math.min(INPUTS, first + BATCH); i++) {
                        int index = i;
                        outcomes.add(clients.submit(() -> exchange(socket, input(index), repliesReceived)));
                    }
                    for (int i = 0; i < outcomes.size(); i++) {
                        String problem = outcomes.get(i).get(2 * PER_CONNECTION.toSeconds(), TimeUnit.SECONDS);
                        if (problem != null) {
                            problems.add("input " + (first + i) + " (" + HexFormat.of().formatHex(preview(input(first + i)))
                                    + "): " + problem);
                        }
                    }
                    Runtime runtime = Runtime.getRuntime();
                    peakHeap = Math.max(peakHeap, runtime.totalMemory() - runtime.freeMemory());
                }
                double seconds = (System.nanoTime() - started) / 1e9;
                System.out.printf("socket fuzz: %d inputs in %.1f s (%.0f/s), %d replies, %d misbehaved, peak heap %d MiB,"
                        + " server threads %d%n", INPUTS, seconds, INPUTS / seconds, repliesReceived.get(), problems.size(),
                        peakHeap >> 20, AgentSocketServerTest.serverThreads().size());
                clients.shutdown();
                assertTrue(clients.awaitTermination(10, TimeUnit.SECONDS));

                assertEquals(List.of(), problems.stream().limit(5).toList(), problems.size() + " inputs misbehaved");
                AgentClient client = new AgentClient(socket);
                assertEquals("ok", client.send(client.newRequest("status")).get("status").asText(),
                        "a well-formed request after the storm");
                assertTrue(AgentSocketServerTest.serverThreads().size() <= AgentSocketServer.HANDLER_THREADS + 2,
                        "server threads: " + AgentSocketServerTest.serverThreads());
                assertTrue(Thread.activeCount() - threadsBefore <= AgentSocketServer.HANDLER_THREADS + 10,
                        "threads grew from " + threadsBefore + " to " + Thread.activeCount());
            } finally {
                server.stop();
            }
        }

        List<Counter> counters = List.copyOf(meters.get("lifeboat_socket_requests").counters());
        Set<String> labels = counters.stream().map(c -> c.getId().getTag("request")).collect(Collectors.toSet());
        assertTrue(REQUEST_LABELS.containsAll(labels), "unbounded metric labels: " + labels);
        double counted = counters.stream().mapToDouble(Counter::count).sum();
        assertEquals(repliesReceived.get() + 1, (int) counted, "every reply sent is counted once");
        assertTrue(AgentSocketServerTest.serverThreadsEnd(Duration.ofSeconds(5)),
                "threads still alive after stop: " + AgentSocketServerTest.serverThreads());
    }

    /** Sends one input on a connection of its own; returns what went wrong, or null. */
    private static String exchange(Path socket, byte[] input, AtomicInteger repliesReceived) throws IOException {
        try (RawConnection connection = RawConnection.open(socket)) {
            connection.send(input);
            connection.endOutput();
            RawConnection.Received received = connection.readUntilClosed(PER_CONNECTION);
            if (!received.closed()) {
                return "neither replied in full nor closed within " + PER_CONNECTION.toMillis() + " ms; got " + received.text();
            }
            if (!received.text().isEmpty() && !received.text().endsWith("\n")) {
                return "a reply without its newline: " + received.text();
            }
            if (input.length > 0 && received.lines().isEmpty()) {
                return "closed without any reply";
            }
            for (String line : received.lines()) {
                if (!line.startsWith("{\"version\":1,\"status\":\"")) {
                    return "a reply not in the protocol's form: " + line;
                }
                JsonNode reply = JSON.readTree(line);
                if (!reply.path("status").asText().equals("ok") && !reply.at("/error/code").isTextual()) {
                    return "an error reply without a code: " + line;
                }
            }
            repliesReceived.addAndGet(received.lines().size());
            return null;
        }
    }

    // --- inputs -----------------------------------------------------------------------------------

    private static final String[] FRAGMENTS = {
        "{", "}", "[", "]", ":", ",", " ", "\"", "\\", "\"version\"", "\"request\"", "\"status\"", "\"job\"",
        "\"step\"", "\"step-start\"", "\"task-start\"", "\"step-end\"", "\"job-end\"", "\"batch\"", "\"uid\"",
        "\"gid\"", "\"pid\"", "\"task\"", "\"tasks\"", "\"restart-count\"", "1", "0", "-1", "42", "1.5", "1e999",
        "-0", "4294967296", "99999999999999999999999", "null", "true", "false", "NaN", "\"\\u0000\"", "\"\\ud800\"",
        "\"\\uD83D\\uDE00\"", "\t", "\r", "\n", "/*", "*/", "//", "'", "\u00e9", "\u2028", "\uFEFF",
    };

    private static final String[] ODD_NUMBERS = {
        "0", "-0", "-1", "00042", "0x2A", "4294967295", "4294967296", "2147483647", "2147483648", "-2147483649",
        "9223372036854775807", "9223372036854775808", "-9223372036854775809", "1e3", "1E-3", "1.0", "0.5",
        "1e400", "-1e400", "NaN", "Infinity", "-Infinity", "+1", ".5", "5.", "1_000", "\"7\"", "[7]", "{\"n\":7}",
    };

    /** Input i, from a seed of its own. */
    static byte[] input(int i) {
        Random random = new Random(SEED + i);
        return switch (random.nextInt(10)) {
            case 0 -> randomBytes(random);
            case 1 -> jsonFragments(random);
            case 2 -> truncated(random);
            case 3 -> oddNumber(random);
            case 4 -> deepNesting(random);
            case 5 -> invalidUtf8(random);
            case 6 -> emptyish(random);
            case 7 -> mutated(random);
            case 8 -> severalLines(random);
            default -> i % 1000 == 9 ? oversized(random) : bytes(validRequest(random) + "\n");
        };
    }

    private static byte[] randomBytes(Random random) {
        byte[] bytes = new byte[random.nextInt(300)];
        random.nextBytes(bytes);
        return bytes;
    }

    private static byte[] jsonFragments(Random random) {
        StringBuilder text = new StringBuilder();
        for (int n = 1 + random.nextInt(30); n > 0; n--) {
            text.append(FRAGMENTS[random.nextInt(FRAGMENTS.length)]);
        }
        return bytes(text + (random.nextInt(5) == 0 ? "" : "\n"));
    }

    private static byte[] truncated(Random random) {
        String request = validRequest(random);
        String cut = request.substring(0, random.nextInt(request.length() + 1));
        return bytes(cut + (random.nextBoolean() ? "\n" : ""));
    }

    private static byte[] oddNumber(Random random) {
        String number = random.nextInt(4) == 0
                ? (random.nextBoolean() ? "-" : "") + "9".repeat(1 + random.nextInt(2000))
                : ODD_NUMBERS[random.nextInt(ODD_NUMBERS.length)];
        String field = List.of("version", "job", "uid", "gid", "restart-count", "tasks", "task", "pid").get(random.nextInt(8));
        String request = switch (field) {
            case "version" -> "{\"version\":" + number + ",\"request\":\"status\"}";
            case "task", "pid" -> "{\"version\":1,\"request\":\"task-start\",\"job\":3,\"step\":\"batch\",\"task\":"
                    + (field.equals("task") ? number : "0") + ",\"pid\":" + (field.equals("pid") ? number : "77") + "}";
            case "job" -> "{\"version\":1,\"request\":\"job\",\"job\":" + number + "}";
            default -> "{\"version\":1,\"request\":\"step-start\",\"job\":3,\"step\":\"batch\",\"uid\":"
                    + (field.equals("uid") ? number : "1000") + ",\"gid\":" + (field.equals("gid") ? number : "100")
                    + ",\"restart-count\":" + (field.equals("restart-count") ? number : "0")
                    + ",\"tasks\":" + (field.equals("tasks") ? number : "1") + "}";
        };
        return bytes(request + "\n");
    }

    private static byte[] deepNesting(Random random) {
        int depth = 500 + random.nextInt(10_000);
        String text = switch (random.nextInt(4)) {
            case 0 -> "[".repeat(depth);
            case 1 -> "{\"a\":".repeat(depth / 5);
            case 2 -> "{\"version\":1,\"request\":\"status\",\"x\":" + "[".repeat(depth) + "]".repeat(depth) + "}";
            default -> "[{".repeat(depth / 2) + "}]".repeat(depth / 2);
        };
        return bytes(text + "\n");
    }

    private static byte[] invalidUtf8(Random random) {
        byte[][] bad = {
            {(byte) 0xC0, (byte) 0x80}, {(byte) 0xC1}, {(byte) 0xFF}, {(byte) 0xFE}, {(byte) 0x80},
            {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80},
            {(byte) 0xE2, (byte) 0x82}, {(byte) 0xF0, (byte) 0x9F},
        };
        byte[] request = bytes(validRequest(random));
        int at = random.nextInt(request.length + 1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(request, 0, at);
        out.writeBytes(bad[random.nextInt(bad.length)]);
        out.write(request, at, request.length - at);
        out.write('\n');
        return out.toByteArray();
    }

    private static byte[] emptyish(Random random) {
        return bytes(List.of("", "\n", "\n\n\n", " \n", "\r\n", "\t", "\u0000\n", " ").get(random.nextInt(8)));
    }

    private static byte[] mutated(Random random) {
        byte[] request = bytes(validRequest(random));
        for (int n = 1 + random.nextInt(3); n > 0; n--) {
            request[random.nextInt(request.length)] = (byte) random.nextInt(256);
        }
        return bytes(new String(request, StandardCharsets.ISO_8859_1).replace("\n", "") + "\n", StandardCharsets.ISO_8859_1);
    }

    private static byte[] severalLines(Random random) {
        StringBuilder text = new StringBuilder();
        for (int n = 2 + random.nextInt(4); n > 0; n--) {
            text.append(random.nextInt(3) == 0 ? new String(jsonFragments(random), StandardCharsets.UTF_8).strip()
                    : validRequest(random)).append('\n');
        }
        return bytes(text.toString());
    }

    private static byte[] oversized(Random random) {
        byte[] bytes = new byte[AgentSocketServer.MAX_LINE_BYTES + 1 + random.nextInt(5_000)];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) ('a' + random.nextInt(26));
        }
        return bytes;
    }

    private static String validRequest(Random random) {
        long job = 1 + random.nextInt(50);
        String step = List.of("batch", "extern", "interactive", "0", "1").get(random.nextInt(5));
        return switch (random.nextInt(6)) {
            case 0 -> "{\"version\":1,\"request\":\"status\"}";
            case 1 -> "{\"version\":1,\"request\":\"job\",\"job\":" + job + "}";
            case 2 -> "{\"version\":1,\"request\":\"step-start\",\"job\":" + job + ",\"step\":\"" + step
                    + "\",\"uid\":" + (1000 + job) + ",\"gid\":100,\"restart-count\":0,\"tasks\":2}";
            case 3 -> "{\"version\":1,\"request\":\"task-start\",\"job\":" + job + ",\"step\":\"" + step
                    + "\",\"task\":" + random.nextInt(2) + ",\"pid\":" + (100 + random.nextInt(100_000)) + "}";
            case 4 -> "{\"version\":1,\"request\":\"step-end\",\"job\":" + job + ",\"step\":\"" + step + "\"}";
            default -> "{\"version\":1,\"request\":\"job-end\",\"job\":" + job + "}";
        };
    }

    private static byte[] bytes(String text) {
        return bytes(text, StandardCharsets.UTF_8);
    }

    private static byte[] bytes(String text, java.nio.charset.Charset charset) {
        return text.getBytes(charset);
    }

    private static byte[] preview(byte[] input) {
        return java.util.Arrays.copyOf(input, Math.min(input.length, 120));
    }
}
