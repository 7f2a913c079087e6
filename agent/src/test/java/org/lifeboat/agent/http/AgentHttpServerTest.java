package org.lifeboat.agent.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.config.HttpConfig;
import org.lifeboat.agent.health.Dependency;
import org.lifeboat.agent.health.DependencyState;
import org.lifeboat.agent.health.HealthReport;
import org.lifeboat.agent.metrics.AgentMetrics;

class AgentHttpServerTest {

    private static final HealthReport ALL_READY = HealthReport.all(DependencyState.ready("fine"));
    // What the dependency monitor last found; a test changes it as the monitor would.
    private final AtomicReference<HealthReport> health = new AtomicReference<>(ALL_READY);
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private AgentHttpServer server;

    @BeforeEach
    void startServer() throws IOException {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new AgentMetrics("1.2.3", "node-7").bindTo(registry);
        server = new AgentHttpServer(new HttpConfig("127.0.0.1", 0, null, null), "node-7", "1.2.3", registry, health::get);
        server.start();
    }

    @AfterEach
    void stopServer() {
        server.stop();
    }

    @Test
    void portZeroBindsAFreePortAndReportsIt() {
        assertNotEquals(0, server.boundAddress().getPort());
    }

    @Test
    void healthSaysOkWithNodeVersionAndEveryDependencyAsJson() throws Exception {
        HttpResponse<String> response = get("/health");

        assertEquals(200, response.statusCode());
        assertEquals("application/json", response.headers().firstValue("Content-Type").orElseThrow());
        assertEquals("{\"status\":\"ok\",\"node\":\"node-7\",\"version\":\"1.2.3\",\"ready\":true,\"dependencies\":{"
                + "\"criu\":{\"ready\":true,\"detail\":\"fine\"},\"munge\":{\"ready\":true,\"detail\":\"fine\"},"
                + "\"slurm\":{\"ready\":true,\"detail\":\"fine\"},\"checkpoint-directory\":{\"ready\":true,\"detail\":\"fine\"}}}",
                response.body());
    }

    @Test
    void healthIsUnavailableWhenCriuIsNotReadyAndSaysWhy() throws Exception {
        health.set(ALL_READY.with(Dependency.CRIU, DependencyState.notReady("`criu check` failed with CRIU 4.1.1")));

        HttpResponse<String> response = get("/health");

        assertEquals(503, response.statusCode());
        assertTrue(response.body().startsWith("{\"status\":\"unready\",\"node\":\"node-7\",\"version\":\"1.2.3\",\"ready\":false,"
                + "\"reason\":\"criu: `criu check` failed with CRIU 4.1.1\",\"dependencies\":{"
                + "\"criu\":{\"ready\":false,\"detail\":\"`criu check` failed with CRIU 4.1.1\"},"), response.body());
    }

    @Test
    void healthIsUnavailableAndNamesEveryDependencyThatIsNotReadyWithWhy() throws Exception {
        health.set(ALL_READY
                .with(Dependency.MUNGE, DependencyState.notReady("munge could not make a credential: Socket communication error"))
                .with(Dependency.SLURM, DependencyState.notReady("scontrol ping exited 1: Slurmctld(primary) at ctl is DOWN")));

        HttpResponse<String> response = get("/health");

        assertEquals(503, response.statusCode());
        assertTrue(response.body().contains("\"reason\":\"munge: munge could not make a credential: Socket communication error;"
                + " slurm: scontrol ping exited 1: Slurmctld(primary) at ctl is DOWN\""), response.body());
        assertTrue(response.body().contains("\"criu\":{\"ready\":true,\"detail\":\"fine\"},"
                + "\"munge\":{\"ready\":false,\"detail\":\"munge could not make a credential: Socket communication error\"},"
                + "\"slurm\":{\"ready\":false,\"detail\":\"scontrol ping exited 1: Slurmctld(primary) at ctl is DOWN\"},"
                + "\"checkpoint-directory\":{\"ready\":true,\"detail\":\"fine\"}"), response.body());
    }

    @Test
    void healthFollowsTheLatestChecksWithoutARestart() throws Exception {
        assertEquals(200, get("/health").statusCode());

        health.set(ALL_READY.with(Dependency.CHECKPOINT_DIRECTORY, DependencyState.notReady("/ckpt does not exist")));
        assertEquals(503, get("/health").statusCode());

        health.set(ALL_READY);
        assertEquals(200, get("/health").statusCode());
    }

    @Test
    void metricsServesThePrometheusTextFormat() throws Exception {
        HttpResponse<String> response = get("/metrics");

        assertEquals(200, response.statusCode());
        assertEquals("text/plain; version=0.0.4; charset=utf-8",
                response.headers().firstValue("Content-Type").orElseThrow());
        assertTrue(response.body().contains("lifeboat_agent_info{node=\"node-7\",version=\"1.2.3\"} 1"), response.body());
    }

    @Test
    void unknownPathsAreNotFound() throws Exception {
        assertEquals(404, get("/healthz").statusCode());
        assertEquals(404, get("/").statusCode());
    }

    @Test
    void otherMethodsAreNotAllowedAndTheAnswerSaysWhichIs() throws Exception {
        HttpResponse<String> response = send(HttpRequest.newBuilder(uri("/health"))
                .POST(HttpRequest.BodyPublishers.ofString("{}")));

        assertEquals(405, response.statusCode());
        assertEquals("GET", response.headers().firstValue("Allow").orElseThrow());
        assertEquals(405, send(HttpRequest.newBuilder(uri("/metrics")).DELETE()).statusCode());
    }

    @Test
    void aPortInUseFailsTheStartNamingAddressAndPort() throws Exception {
        int taken = server.boundAddress().getPort();
        AgentHttpServer second = new AgentHttpServer(new HttpConfig("127.0.0.1", taken, null, null), "node-7", "1.2.3",
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), health::get);

        IOException error = assertThrows(IOException.class, second::start);

        assertTrue(error.getMessage().startsWith("cannot listen on 127.0.0.1:" + taken + ": "), error.getMessage());
    }

    @Test
    void stopReleasesThePort() throws Exception {
        int port = server.boundAddress().getPort();

        server.stop();

        try (ServerSocket reuse = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            assertEquals(port, reuse.getLocalPort());
        }
        startServer();
    }

    private HttpResponse<String> get(String path) throws Exception {
        return send(HttpRequest.newBuilder(uri(path)).GET());
    }

    private HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return client.send(request.timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.boundAddress().getPort() + path);
    }
}
