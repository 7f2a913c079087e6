package org.lifeboat.agent.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A real Prometheus server (Debian's prometheus package) for a test: its own configuration and
 * storage in the test's directory, a free port on loopback, a scrape every second of job
 * "lifeboat" with the given targets, and the shipped alert rules loaded. Fails, never skips, when
 * Prometheus is missing or does not come up.
 */
public final class RealPrometheus implements AutoCloseable {

    static final Path BINARY = Path.of("/usr/bin/prometheus");
    private static final Duration STARTUP_LIMIT = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final Path log;
    private final URI base;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private RealPrometheus(Process process, Path log, URI base) {
        this.process = process;
        this.log = log;
        this.base = base;
    }

    /**
     * @param targets host:port of each agent's HTTP endpoint
     * @param rules the alert rules file to load (the shipped config/prometheus/lifeboat-rules.yml)
     */
    public static RealPrometheus start(Path directory, List<String> targets, Path rules) throws IOException, InterruptedException {
        if (!Files.isExecutable(BINARY)) {
            throw new AssertionError(BINARY + " is missing: install Debian's prometheus package (testbed/deps.sh does)");
        }
        ObjectNode config = JSON.createObjectNode();
        config.putObject("global").put("scrape_interval", "1s").put("evaluation_interval", "1s");
        config.putArray("rule_files").add(rules.toAbsolutePath().toString());
        ObjectNode job = config.putArray("scrape_configs").addObject().put("job_name", "lifeboat");
        targets.forEach(job.putArray("static_configs").addObject().putArray("targets")::add);
        // JSON is YAML too.
        Path configFile = Files.writeString(directory.resolve("prometheus.yml"), JSON.writeValueAsString(config));
        int port = freePort();
        Path log = directory.resolve("prometheus.log");
        Process process = new ProcessBuilder(BINARY.toString(),
                "--config.file=" + configFile,
                "--storage.tsdb.path=" + directory.resolve("data"),
                "--web.listen-address=127.0.0.1:" + port)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        RealPrometheus prometheus = new RealPrometheus(process, log, URI.create("http://127.0.0.1:" + port));
        try {
            prometheus.await(prometheus::ready, STARTUP_LIMIT, "Prometheus did not become ready");
        } catch (AssertionError | RuntimeException e) {
            prometheus.close();
            throw e;
        }
        return prometheus;
    }

    /** The result of an instant query (data.result); fails on any error Prometheus reports. */
    public JsonNode query(String expression) {
        JsonNode reply = get("/api/v1/query?query=" + URLEncoder.encode(expression, StandardCharsets.UTF_8));
        if (!"success".equals(reply.path("status").asText())) {
            throw new AssertionError("Prometheus refused " + expression + ": " + reply);
        }
        return reply.path("data").path("result");
    }

    /** The value of an instant query's single sample, or {@code absent} when it has none. */
    public double value(String expression, double absent) {
        JsonNode result = query(expression);
        if (result.isEmpty()) {
            return absent;
        }
        if (result.size() > 1) {
            throw new AssertionError(expression + " has " + result.size() + " samples, expected one: " + result);
        }
        return sampleValue(result.get(0));
    }

    /** A result sample's value; Prometheus writes infinities as "+Inf" and "-Inf", which Java does not parse. */
    public static double sampleValue(JsonNode sample) {
        String value = sample.path("value").get(1).asText();
        return switch (value) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            default -> Double.parseDouble(value);
        };
    }

    /** The loaded rule groups (data.groups of /api/v1/rules). */
    public JsonNode ruleGroups() {
        return get("/api/v1/rules").path("data").path("groups");
    }

    /** Waits until every target of job "lifeboat" has been scraped successfully. */
    public void awaitTargetsUp(int targets, Duration limit) {
        await(() -> value("count(up{job=\"lifeboat\"} == 1)", 0) == targets, limit,
                targets + " targets were not up; /api/v1/targets says " + get("/api/v1/targets").path("data"));
    }

    public void await(BooleanSupplier condition, Duration limit, String failure) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (!process.isAlive()) {
                throw new AssertionError("Prometheus exited with " + process.exitValue() + ":\n" + logText());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(failure + "\nPrometheus log:\n" + logText());
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private boolean ready() {
        try {
            return http.send(HttpRequest.newBuilder(base.resolve("/-/ready")).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException notListeningYet) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private JsonNode get(String pathAndQuery) {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(base + pathAndQuery))
                    .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new AssertionError("cannot ask Prometheus " + pathAndQuery + ": " + e.getMessage() + "\n" + logText(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private String logText() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
