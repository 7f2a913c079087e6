package org.lifeboat.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.metrics.GrafanaDashboard;
import org.lifeboat.agent.metrics.RealPrometheus;
import org.lifeboat.agent.metrics.Promtool;
import org.lifeboat.testbed.Testbed;
import picocli.CommandLine;

/** Starts the agent as its own JVM, as systemd would, and stops it with SIGTERM. */
class AgentProcessTest {

    private static final Duration STARTUP_LIMIT = Duration.ofSeconds(20);
    // Short, so that the test of slow requests need not wait long for it.
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(1);
    private static final int HTTP_THREADS = 8;
    // Short, so that the test of a dependency lost and found sees each change within a second or two.
    private static final Duration HEALTH_INTERVAL = Duration.ofSeconds(1);

    @TempDir
    Path directory;

    private Process agent;

    @AfterEach
    void killAgent() {
        if (agent != null) {
            agent.destroyForcibly();
        }
    }

    @Test
    void servesHealthUntilSigtermThenStopsCleanlyWithStatus143() throws Exception {
        int port = startAgent();
        Path output = directory.resolve("agent.log");
        assertTrue(Files.exists(directory.resolve("agent.sock")), "socket not created");

        agent.destroy();

        assertTrue(agent.waitFor(20, TimeUnit.SECONDS), "agent did not exit after SIGTERM");
        String log = Files.readString(output);
        assertEquals(143, agent.exitValue(), log);
        assertTrue(log.contains("lifeboat agent dev started on node process-test-node, socket " + directory.resolve("agent.sock")
                + ", http on 127.0.0.1:" + port), log);
        assertTrue(log.contains("lifeboat agent stopped"), log);
        assertTrue(Files.isDirectory(directory.resolve("state")), "state directory not created");
        assertTrue(Files.notExists(directory.resolve("agent.sock")), "socket left behind after stop");
    }

    @Test
    void healthNamesEachDependencyAndAnswers503WhileSlurmDoesNotAnswerThen200Again() throws Exception {
        int port = startAgent();
        Path output = directory.resolve("agent.log");
        JsonNode ready = new ObjectMapper().readTree(health(port).body());
        assertEquals(List.of("criu", "munge", "slurm", "checkpoint-directory"), fieldNames(ready.path("dependencies")));
        assertEquals("Slurmctld(primary) at process-test-controller is UP", ready.path("dependencies").path("slurm").path("detail").asText());
        assertEquals("not used: peer.authentication is none", ready.path("dependencies").path("munge").path("detail").asText());

        Files.createFile(slurmctldDown());
        awaitHealth(port, output, 503);
        JsonNode unready = new ObjectMapper().readTree(health(port).body());
        assertEquals("unready", unready.path("status").asText());
        assertTrue(unready.path("reason").asText().startsWith("slurm: scontrol ping exited 1: Slurmctld(primary) at"
                + " process-test-controller is DOWN"), unready.toString());
        assertEquals(false, unready.path("dependencies").path("slurm").path("ready").asBoolean());
        assertEquals(true, unready.path("dependencies").path("criu").path("ready").asBoolean());
        assertTrue(metrics(port).contains("lifeboat_dependency_ready{dependency=\"slurm\"} 0"));

        Files.delete(slurmctldDown());
        awaitHealth(port, output, 200);
        assertTrue(metrics(port).contains("lifeboat_dependency_ready{dependency=\"slurm\"} 1"));
        String log = Files.readString(output);
        assertTrue(log.contains("slurm is not ready: scontrol ping exited 1") && log.contains("slurm is ready again"), log);
    }

    @Test
    void itsMetricsPassPromtoolAndIncludeEveryMetricTheDashboardUses() throws Exception {
        int port = startAgent();
        StringWriter history = new StringWriter();
        CommandLine lifeboat = LifeboatCommand.commandLine();
        lifeboat.setOut(new PrintWriter(history, true));
        // A request on the socket, so that its counter is served too.
        assertEquals(0, lifeboat.execute("history", "--socket", directory.resolve("agent.sock").toString()));
        assertEquals("no migrations from this node yet" + System.lineSeparator(), history.toString());

        String scrape = metrics(port);

        Promtool.check(scrape, "check", "metrics");
        for (String metric : GrafanaDashboard.load(Testbed.locateRepository()).lifeboatMetrics()) {
            assertTrue(Pattern.compile("(?m)^" + metric + "[{ ]").matcher(scrape).find(), metric + " is not served:\n" + scrape);
        }
        assertTrue(scrape.contains("lifeboat_criu_usable 1.0"), scrape);
        assertTrue(scrape.contains("lifeboat_criu_info{version=\"4.2.1\"} 1"), scrape);
        assertTrue(scrape.contains("lifeboat_migrations_total{mode=\"diskless\",reason=\"none\",result=\"migrated\"} 0.0"), scrape);
    }

    @Test
    void aRealPrometheusScrapesItRunsEveryDashboardQueryAndFiresCriuMissing() throws Exception {
        // Running but unable to migrate: /health says so with 503.
        int port = startAgent(directory.resolve("no-such-criu"), 503);
        Path repository = Testbed.locateRepository();

        try (RealPrometheus prometheus = RealPrometheus.start(Files.createDirectory(directory.resolve("prometheus")),
                List.of("127.0.0.1:" + port), repository.resolve("config/prometheus/lifeboat-rules.yml"))) {
            prometheus.awaitTargetsUp(1, Duration.ofSeconds(30));
            // Range functions such as increase() need two samples or more before they return anything to check.
            prometheus.await(() -> prometheus.value("count_over_time(up{job=\"lifeboat\"}[1h])", 0) >= 3,
                    Duration.ofSeconds(30), "Prometheus did not scrape the agent three times");

            // Runtime errors (a join matching many-to-many, say) only show here; data comes with migrations (testbed).
            for (GrafanaDashboard.Query query : GrafanaDashboard.load(repository).queries()) {
                prometheus.query(query.resolve(GrafanaDashboard.VARIABLES));
            }
            assertEquals(0, prometheus.value("min by (node) (lifeboat_criu_usable * on (instance) group_left (node)"
                    + " lifeboat_agent_info{node=\"process-test-node\"})", -1));
            prometheus.ruleGroups().forEach(group -> group.path("rules").forEach(rule ->
                    assertEquals("ok", rule.path("health").asText(), rule.toString())));
            prometheus.await(() -> prometheus.value("count(ALERTS{alertname=\"LifeboatCriuMissing\", alertstate=\"firing\"})", 0) == 1,
                    Duration.ofSeconds(30), "LifeboatCriuMissing did not fire for an agent without CRIU");
        }
    }

    /**
     * Issue 22, as a local user did it: connections that announce a 1 MiB prediction and send none of it
     * (and, alike, ones that stop in the middle of their headers). A few more than the old two threads
     * must not delay /health at all; more than every thread may delay it until they are cut off at the
     * request timeout; and every one of them is closed.
     */
    @Test
    void connectionsThatAnnounceABodyAndSendNothingDoNotStopHealth() throws Exception {
        int port = startAgent();
        List<Socket> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < HTTP_THREADS - 2; i++) {
                stalled.add(announceABodyAndStall(port));
            }
            assertHealthAnswersWithin(port, Duration.ofSeconds(1));

            for (int i = 0; i < 4; i++) {
                stalled.add(i % 2 == 0 ? announceABodyAndStall(port) : stallInTheHeaders(port));
            }
            assertHealthAnswersWithin(port, REQUEST_TIMEOUT.plusSeconds(2));

            for (Socket socket : stalled) {
                socket.setSoTimeout((int) REQUEST_TIMEOUT.plusSeconds(3).toMillis());
                assertEquals(-1, readOrEndOnReset(socket), "a stalled request was not closed");
            }
        } finally {
            for (Socket socket : stalled) {
                socket.close();
            }
        }
    }

    private static Socket announceABodyAndStall(int port) throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.getOutputStream().write(("POST /api/v1/predictions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        return socket;
    }

    private static Socket stallInTheHeaders(int port) throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.getOutputStream().write("POST /api/v1/predictions HTTP/1.1\r\nHost: 127".getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        return socket;
    }

    private static void assertHealthAnswersWithin(int port, Duration limit) throws Exception {
        HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health")).timeout(limit).build();
        try {
            assertEquals(200, HttpClient.newHttpClient().send(health, HttpResponse.BodyHandlers.discarding()).statusCode());
        } catch (HttpTimeoutException e) {
            fail("/health did not answer within " + limit + " beside stalled requests");
        }
    }

    /** What the server's closing looks like to the client: the end of the stream, or a reset for unread bytes. */
    private static int readOrEndOnReset(Socket socket) throws IOException {
        try {
            return socket.getInputStream().read();
        } catch (SocketException reset) {
            return -1;
        }
    }

    /** Starts the agent with a stand-in for CRIU's probe (--version, check, check --feature): a usable CRIU. */
    private int startAgent() throws Exception {
        Path criu = Files.writeString(directory.resolve("criu"), "#!/bin/sh\n[ \"$1\" = --version ] && echo 'Version: 4.2.1'\nexit 0\n");
        Files.setPosixFilePermissions(criu, PosixFilePermissions.fromString("rwx------"));
        return startAgent(criu, 200);
    }

    /**
     * A stand-in for Slurm's scontrol, first on the agent's PATH: `scontrol ping` finds the controller
     * up unless the test has made the file {@link #slurmctldDown()}; everything else fails, as with no
     * controller at all (the drain watcher's polls, the reconciliation at start).
     */
    private Path fakeScontrol() throws IOException {
        Path bin = Files.createDirectories(directory.resolve("bin"));
        Path scontrol = Files.writeString(bin.resolve("scontrol"), "#!/bin/sh\n"
                + "if [ \"$1\" = ping ] && [ ! -e '" + slurmctldDown() + "' ]; then\n"
                + "    echo 'Slurmctld(primary) at process-test-controller is UP'; exit 0\n"
                + "fi\n"
                + "[ \"$1\" = ping ] && echo 'Slurmctld(primary) at process-test-controller is DOWN'\n"
                + "echo 'scontrol: error: Unable to contact slurm controller (connect failure)' >&2\n"
                + "exit 1\n");
        Files.setPosixFilePermissions(scontrol, PosixFilePermissions.fromString("rwx------"));
        return bin;
    }

    private Path slurmctldDown() {
        return directory.resolve("slurmctld-down");
    }

    /**
     * Starts the agent as its own JVM with a configuration in the test's directory; returns its HTTP port once
     * /health answers with {@code healthStatus}.
     */
    private int startAgent(Path criu, int healthStatus) throws Exception {
        int port = freePort();
        Path checkpoints = Files.createDirectory(directory.resolve("checkpoints"));
        Path config = Files.writeString(directory.resolve("agent.yaml"),
                "node-name: process-test-node\n"
                + "state-directory: " + directory.resolve("state") + "\n"
                + "checkpoint-directory: " + checkpoints + "\n"
                + "socket-path: " + directory.resolve("agent.sock") + "\n"
                + "slurm-user: root\n"
                + "criu-path: " + criu + "\n"
                + "peer:\n  address: 127.0.0.1\n  port: 0\n  authentication: none\n"
                + "http:\n  address: 127.0.0.1\n  port: " + port + "\n  threads: " + HTTP_THREADS
                + "\n  request-timeout: " + REQUEST_TIMEOUT.toSeconds() + "s\n"
                + "health:\n  interval: " + HEALTH_INTERVAL.toSeconds() + "s\n"
                + "predictor:\n  token-file: " + directory.resolve("prediction-token") + "\n");
        Path output = directory.resolve("agent.log");

        ProcessBuilder java = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp", System.getProperty("java.class.path"),
                        LifeboatCommand.class.getName(), "agent", "--config", config.toString())
                .redirectErrorStream(true)
                .redirectOutput(output.toFile());
        java.environment().put("PATH", fakeScontrol() + ":" + System.getenv("PATH"));
        agent = java.start();
        awaitHealth(port, output, healthStatus);
        return port;
    }

    private void awaitHealth(int port, Path output, int healthStatus) throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                .timeout(Duration.ofSeconds(2))
                .build();
        Instant deadline = Instant.now().plus(STARTUP_LIMIT);
        while (Instant.now().isBefore(deadline)) {
            if (!agent.isAlive()) {
                fail("agent exited with " + agent.exitValue() + " before serving /health:\n" + Files.readString(output));
            }
            try {
                if (client.send(health, HttpResponse.BodyHandlers.ofString()).statusCode() == healthStatus) {
                    return;
                }
            } catch (IOException notListeningYet) {
                // Expected until the agent has bound its port.
            }
            Thread.sleep(100);
        }
        fail("agent did not answer /health with " + healthStatus + " within " + STARTUP_LIMIT + ":\n"
                + Files.readString(output));
    }

    private static HttpResponse<String> health(int port) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String metrics(int port) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    private static List<String> fieldNames(JsonNode object) {
        List<String> names = new ArrayList<>();
        object.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
