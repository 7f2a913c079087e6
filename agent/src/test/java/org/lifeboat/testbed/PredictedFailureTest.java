package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A predicted failure end to end, with Debian's real Prometheus and Alertmanager: a rule on a metric
 * this test controls (standing in for a node's EDAC error counter) fires, Alertmanager posts its
 * webhook to node1's agent, the agent drains node1 in Slurm, and the migratable job on node1 moves
 * to a node Slurm chooses and completes there with every number of its sequence once.
 */
@TestbedIntegration
final class PredictedFailureTest {

    private static final Path PROMETHEUS = Path.of("/usr/bin/prometheus");
    private static final Path ALERTMANAGER = Path.of("/usr/bin/prometheus-alertmanager");

    @TempDir
    Path directory;

    private final AtomicLong correctableErrors = new AtomicLong();
    private final List<Process> processes = new ArrayList<>();
    private HttpServer metrics;

    @AfterEach
    void stop() throws InterruptedException {
        for (Process process : processes) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        if (metrics != null) {
            metrics.stop(0);
        }
    }

    @Test
    void anAlertOnNode1DrainsItAndItsJobMovesAndCompletes(Testbed testbed) throws Exception {
        // A fresh agent: no prediction left in its book by an earlier test, its counters at zero.
        testbed.restartAgent("node1");
        startPrometheusAndAlertmanager(testbed);
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", 128);
        workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(5);

        correctableErrors.set(500);
        Testbed.await(() -> isDrainedByLifeboat(testbed), Duration.ofSeconds(60),
                () -> "node1 was not drained for the alert: " + testbed.run("sinfo", "-R").stdout()
                        + "\nprometheus: " + log("prometheus") + "\nalertmanager: " + log("alertmanager"));
        Testbed.await(() -> {
            Map<String, String> job = testbed.job(workload.jobId);
            return "RUNNING".equals(job.get("JobState")) && !"node1".equals(job.get("NodeList"));
        }, Duration.ofSeconds(60), () -> "the job did not leave node1: " + testbed.job(workload.jobId));
        assertEquals("1", testbed.job(workload.jobId).get("Restarts"));

        workload.awaitSequence(workload.sequence().size() + 5);
        workload.stop(0);
        testbed.awaitJobState(workload.jobId, "COMPLETED", Duration.ofSeconds(30));
        assertEquals("0:0", testbed.job(workload.jobId).get("ExitCode"));
        workload.assertSequenceIsUnbroken();
        String scrape = testbed.agentMetrics("node1");
        assertTrue(scrape.contains("lifeboat_predictions_total{outcome=\"evacuation-started\",source=\"alertmanager\"} 1.0"),
                () -> "the prediction was not counted once:\n" + scrape.lines().filter(l -> l.contains("predictions")).toList());
    }

    /**
     * A node's prediction case ends once an administrator has resumed the node: the jobs started
     * there afterwards are protected by the next prediction as the first ones were.
     */
    @Test
    void aPredictionAfterTheNodeWasResumedMovesTheJobsStartedSince(Testbed testbed) throws Exception {
        testbed.restartAgent("node1");
        for (int round = 1; round <= 2; round++) {
            int thisRound = round;
            MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", 64);
            workload.awaitContainer(testbed, "node1");
            workload.awaitSequence(3);
            CommandResult answer = testbed.lifeboat("predict", "node1", "--within", "5m", "--confidence", "1.0", "--reason",
                    "round " + round, "--url", testbed.agentUrl("node1", ""), "--token-file",
                    testbed.predictionToken("node1").toString()).orThrow();
            assertTrue(answer.stdout().contains("evacuation-started"), answer::describe);
            Testbed.await(() -> SlurmMigrationTest.isRunningAwayFrom(testbed, workload.jobId, "node1"), Duration.ofSeconds(60),
                    () -> "round " + thisRound + ": the job did not leave node1: " + testbed.job(workload.jobId));
            assertEquals("1", testbed.job(workload.jobId).get("Restarts"));
            workload.awaitSequence(workload.sequence().size() + 3);
            workload.stop(0);
            testbed.awaitJobState(workload.jobId, "COMPLETED", Duration.ofSeconds(30));
            workload.assertSequenceIsUnbroken();
            // The administrator has looked at node1 and gives it back to Slurm: it is no longer under
            // evacuation, so the jobs it runs next do not look stuck on a node being emptied.
            testbed.run("scontrol", "update", "nodename=node1", "state=resume").orThrow();
            Testbed.await(() -> testbed.agentMetrics("node1").contains("\nlifeboat_node_failure_predicted 0.0"), Duration.ofSeconds(30),
                    () -> "round " + thisRound + ": node1 still under evacuation after its resume: " + testbed.agentMetrics("node1").lines()
                            .filter(line -> line.startsWith("lifeboat_node_")).toList());
        }
    }

    private boolean isDrainedByLifeboat(Testbed testbed) {
        String reasons = testbed.run("sinfo", "-R", "-h", "-o", "%E|%N").stdout();
        return reasons.lines().anyMatch(line -> line.startsWith("lifeboat: ") && line.endsWith("|node1"));
    }

    private void startPrometheusAndAlertmanager(Testbed testbed) throws Exception {
        for (Path binary : List.of(PROMETHEUS, ALERTMANAGER)) {
            if (!Files.isExecutable(binary)) {
                fail(binary + " is missing: testbed/deps.sh installs prometheus and prometheus-alertmanager");
            }
        }
        metrics = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        metrics.createContext("/metrics", this::serveMetrics);
        metrics.start();
        int prometheusPort = freePort();
        int alertmanagerPort = freePort();
        Path alertmanagerConfig = Files.writeString(directory.resolve("alertmanager.yml"), """
                route:
                  receiver: lifeboat
                  group_by: [alertname, node]
                  group_wait: 1s
                  group_interval: 1s
                  repeat_interval: 1m
                receivers:
                  - name: lifeboat
                    webhook_configs:
                      - url: %s
                        send_resolved: true
                        http_config:
                          authorization:
                            credentials_file: %s
                """.formatted(testbed.agentUrl("node1", "/api/v1/alertmanager"), testbed.predictionToken("node1")));
        Files.writeString(directory.resolve("rules.yml"), """
                groups:
                  - name: lifeboat-test
                    rules:
                      - alert: EdacCorrectableErrors
                        expr: lifeboat_test_edac_correctable_errors_total > 100
                        for: 0s
                        annotations:
                          summary: 'DIMM errors rising on {{ $labels.node }}'
                          lifeboat_lead_time: 10m
                          lifeboat_confidence: '0.95'
                """);
        Path prometheusConfig = Files.writeString(directory.resolve("prometheus.yml"), """
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                rule_files: [rules.yml]
                alerting:
                  alertmanagers:
                    - static_configs:
                        - targets: ['127.0.0.1:%d']
                scrape_configs:
                  - job_name: edac-stand-in
                    static_configs:
                      - targets: ['127.0.0.1:%d']
                """.formatted(alertmanagerPort, metrics.getAddress().getPort()));
        launch("alertmanager", ALERTMANAGER.toString(), "--config.file=" + alertmanagerConfig,
                "--storage.path=" + Files.createDirectory(directory.resolve("alertmanager-data")),
                "--web.listen-address=127.0.0.1:" + alertmanagerPort, "--cluster.listen-address=");
        launch("prometheus", PROMETHEUS.toString(), "--config.file=" + prometheusConfig,
                "--storage.tsdb.path=" + Files.createDirectory(directory.resolve("prometheus-data")),
                "--web.listen-address=127.0.0.1:" + prometheusPort);
        awaitReady("alertmanager", "http://127.0.0.1:" + alertmanagerPort + "/-/ready");
        awaitReady("prometheus", "http://127.0.0.1:" + prometheusPort + "/-/ready");
    }

    private void serveMetrics(HttpExchange exchange) throws IOException {
        byte[] body = ("# TYPE lifeboat_test_edac_correctable_errors_total counter\n"
                + "lifeboat_test_edac_correctable_errors_total{node=\"node1\"} " + correctableErrors.get() + "\n")
                .getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4");
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
    }

    private void launch(String name, String... command) throws IOException {
        processes.add(new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true)
                .redirectOutput(directory.resolve(name + ".log").toFile()).start());
    }

    private void awaitReady(String name, String url) {
        HttpClient client = HttpClient.newHttpClient();
        Testbed.await(() -> {
            try {
                return client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
            } catch (IOException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }, Duration.ofSeconds(60), () -> name + " never became ready: " + log(name));
    }

    private String log(String name) {
        try {
            List<String> lines = Files.readAllLines(directory.resolve(name + ".log"));
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
