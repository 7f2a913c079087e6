package org.lifeboat.predictor.realcomponents;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.predictor.FakeDrainer;
import org.lifeboat.predictor.FakeEvacuator;
import org.lifeboat.predictor.MutableClock;
import org.lifeboat.predictor.Prediction;
import org.lifeboat.predictor.PredictionBook;
import org.lifeboat.predictor.PredictionSource;
import org.lifeboat.predictor.RecordingOutcomes;
import org.lifeboat.predictor.config.PredictorConfig;
import org.lifeboat.predictor.http.AcceptedNodes;
import org.lifeboat.predictor.http.BearerToken;
import org.lifeboat.predictor.http.PredictionHandlers;

/**
 * The Alertmanager intake against the real thing, without the Slurm cluster: Debian's Prometheus scrapes
 * a metric this test serves and controls (standing in for EDAC counters), an alert rule fires on it,
 * Debian's Alertmanager posts its webhook to the adapter's handler, and the book decides. Shows that the
 * real notification parses into a prediction for node2, that repeats and a flap cause exactly one
 * evacuation, and that the final resolution cancels it. Fails (never skips) when either binary is
 * missing: {@code testbed/deps.sh} installs both.
 */
@Tag("real-components")
class PrometheusAlertmanagerTest {

    private static final Path PROMETHEUS = Path.of("/usr/bin/prometheus");
    private static final Path ALERTMANAGER = Path.of("/usr/bin/prometheus-alertmanager");
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path directory;

    private final AtomicLong correctableErrors = new AtomicLong();
    private final List<JsonNode> notifications = new CopyOnWriteArrayList<>();
    private final List<Integer> answers = new CopyOnWriteArrayList<>();
    private final MutableClock clock = new MutableClock(Instant.now());
    private final FakeDrainer drainer = new FakeDrainer();
    private final FakeEvacuator evacuator = new FakeEvacuator();
    private final RecordingOutcomes outcomes = new RecordingOutcomes();
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final List<Process> processes = new ArrayList<>();
    private PredictionBook book;
    private HttpServer receiver;

    @BeforeEach
    void start() throws Exception {
        for (Path binary : List.of(PROMETHEUS, ALERTMANAGER)) {
            if (!Files.isExecutable(binary)) {
                fail(binary + " is missing: install Debian's prometheus and prometheus-alertmanager (testbed/deps.sh does)");
            }
        }
        PredictorConfig config = PredictorConfig.defaults();
        book = new PredictionBook(config.confidenceThreshold(), config.holdDown(), drainer, evacuator, outcomes, Runnable::run, clock);
        // Alertmanager authenticates as a site configures it: the agent's token file as its credentials_file.
        Path token = directory.resolve("prediction-token");
        PredictionHandlers handlers = new PredictionHandlers(config, BearerToken.readOrCreate(token),
                AcceptedNodes.from(Optional.of(List.of(PredictorConfig.EVERY_NODE)), "node1"),
                node -> List.of("node1", "node2", "node3").contains(node), book, outcomes, clock);

        receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        receiver.createContext("/metrics", this::serveMetrics);
        receiver.createContext("/api/v1/alertmanager", recording(handlers.alertmanager()));
        receiver.start();
        int receiverPort = receiver.getAddress().getPort();
        int prometheusPort = freePort();
        int alertmanagerPort = freePort();

        Path alertmanagerYml = Files.writeString(directory.resolve("alertmanager.yml"), """
                route:
                  receiver: lifeboat
                  group_by: [alertname, node]
                  group_wait: 1s
                  group_interval: 1s
                  repeat_interval: 2s
                receivers:
                  - name: lifeboat
                    webhook_configs:
                      - url: http://127.0.0.1:%d/api/v1/alertmanager
                        send_resolved: true
                        http_config:
                          authorization:
                            credentials_file: %s
                """.formatted(receiverPort, token));
        Files.writeString(directory.resolve("rules.yml"), """
                groups:
                  - name: lifeboat-test
                    rules:
                      - alert: EdacCorrectableErrors
                        expr: lifeboat_test_edac_correctable_errors_total > 10
                        for: 0s
                        labels:
                          severity: critical
                        annotations:
                          summary: 'DIMM errors rising on {{ $labels.node }}'
                          lifeboat_lead_time: 5m
                          lifeboat_confidence: '0.95'
                """);
        Path prometheusYml = Files.writeString(directory.resolve("prometheus.yml"), """
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                rule_files: [rules.yml]
                alerting:
                  alertmanagers:
                    - static_configs:
                        - targets: ['127.0.0.1:%d']
                scrape_configs:
                  - job_name: lifeboat-test
                    static_configs:
                      - targets: ['127.0.0.1:%d']
                """.formatted(alertmanagerPort, receiverPort));

        launch("alertmanager", ALERTMANAGER.toString(), "--config.file=" + alertmanagerYml,
                "--storage.path=" + Files.createDirectory(directory.resolve("alertmanager-data")),
                "--web.listen-address=127.0.0.1:" + alertmanagerPort, "--cluster.listen-address=");
        launch("prometheus", PROMETHEUS.toString(), "--config.file=" + prometheusYml,
                "--storage.tsdb.path=" + Files.createDirectory(directory.resolve("prometheus-data")),
                "--web.listen-address=127.0.0.1:" + prometheusPort, "--rules.alert.resend-delay=1s");
        awaitReady("alertmanager", URI.create("http://127.0.0.1:" + alertmanagerPort + "/-/ready"));
        awaitReady("prometheus", URI.create("http://127.0.0.1:" + prometheusPort + "/-/ready"));
    }

    @AfterEach
    void stop() throws InterruptedException {
        for (Process process : processes) {
            process.destroy();
        }
        for (Process process : processes) {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        if (receiver != null) {
            receiver.stop(0);
        }
    }

    @Test
    @Timeout(120)
    void aFiringAlertEvacuatesNode2OnceThroughRepeatsAndAFlapAndItsResolutionCancels() throws Exception {
        correctableErrors.set(50);
        await("a firing notification", () -> count("firing") >= 1);
        await("the evacuation", () -> evacuator.evacuationsOf("node2") == 1);
        JsonNode firing = notifications.stream().filter(n -> n.path("status").asText().equals("firing")).findFirst().orElseThrow();
        assertEquals("4", firing.path("version").asText(), "the webhook format this adapter reads");
        JsonNode alert = firing.path("alerts").get(0);
        Prediction prediction = book.snapshot().evacuating().get(0).predictions().get(0);
        assertEquals("node2", prediction.node());
        assertEquals(PredictionSource.ALERTMANAGER, prediction.source());
        assertEquals(0.95, prediction.confidence());
        assertEquals("EdacCorrectableErrors: DIMM errors rising on node2", prediction.reason());
        assertEquals("alertmanager:" + alert.path("fingerprint").asText(), prediction.dedupKey());
        Instant startsAt = Instant.parse(alert.path("startsAt").asText());
        Instant earliest = startsAt.isBefore(clock.instant()) ? startsAt : clock.instant();
        assertEquals(earliest.plus(Duration.ofMinutes(5)), prediction.deadline());
        assertTrue(drainer.drainReasons.get("node2").startsWith("lifeboat: failure predicted by "), drainer.drainReasons.toString());

        int firingSoFar = count("firing");
        await("Alertmanager to repeat the notification twice", () -> count("firing") >= firingSoFar + 2);
        assertEquals(1, evacuator.evacuations.size(), "repeats are one evacuation");

        correctableErrors.set(0);
        await("a resolved notification", () -> count("resolved") >= 1);
        await("the withdrawal", () -> book.snapshot().evacuating().get(0).quietSince() != null);
        correctableErrors.set(50);
        int firingBeforeFlap = count("firing");
        await("the alert to fire again", () -> count("firing") > firingBeforeFlap
                && book.snapshot().evacuating().get(0).quietSince() == null);
        assertEquals(1, evacuator.evacuations.size(), "a flap within the hold-down is the same evacuation");
        assertEquals(List.of(), evacuator.cancellations);

        correctableErrors.set(0);
        int resolvedSoFar = count("resolved");
        await("the second resolution", () -> count("resolved") > resolvedSoFar
                && book.snapshot().evacuating().get(0).quietSince() != null);
        clock.advance(PredictorConfig.defaults().holdDown());
        book.expireHoldDowns();

        assertEquals(List.of("node2"), evacuator.cancellations);
        assertEquals(List.of("drain node2", "undrain node2"), drainer.calls);
        assertEquals(1, evacuator.evacuations.size());
        assertTrue(answers.stream().allMatch(status -> status == 200), "every notification accepted: " + answers);
    }

    private int count(String status) {
        return (int) notifications.stream().filter(n -> n.path("status").asText().equals(status)).count();
    }

    /** Records each notification and the answer to it, then hands it on unchanged. */
    private HttpHandler recording(HttpHandler handler) {
        return exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            exchange.setStreams(new ByteArrayInputStream(body), null);
            handler.handle(exchange);
            answers.add(exchange.getResponseCode());
            notifications.add(JSON.readTree(body));
        };
    }

    private void serveMetrics(HttpExchange exchange) throws IOException {
        byte[] body = ("# TYPE lifeboat_test_edac_correctable_errors_total counter\n"
                + "lifeboat_test_edac_correctable_errors_total{node=\"node2\"} " + correctableErrors.get() + "\n")
                .getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4");
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
    }

    private void launch(String name, String... command) throws IOException {
        Path log = directory.resolve(name + ".log");
        processes.add(new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start());
    }

    private void awaitReady(String name, URI ready) throws Exception {
        await(name + " to be ready", () -> {
            try {
                return client.send(HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            } catch (IOException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        });
    }

    private void await(String what, BooleanSupplier condition) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            for (Process process : processes) {
                if (!process.isAlive()) {
                    fail("a process exited with " + process.exitValue() + " while waiting for " + what + "\n" + logs());
                }
            }
            if (System.nanoTime() > deadline) {
                fail("no " + what + " within " + WAIT.toSeconds() + " s; notifications: " + notifications + "\n" + logs());
            }
            Thread.sleep(100);
        }
    }

    private String logs() throws IOException {
        StringBuilder text = new StringBuilder();
        for (String name : List.of("prometheus", "alertmanager")) {
            Path log = directory.resolve(name + ".log");
            if (Files.exists(log)) {
                List<String> lines = Files.readAllLines(log);
                text.append("--- ").append(name).append(" log (last lines) ---\n")
                        .append(String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()))).append('\n');
            }
        }
        return text.toString();
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
