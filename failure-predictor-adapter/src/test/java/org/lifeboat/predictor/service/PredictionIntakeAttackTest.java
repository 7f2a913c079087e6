package org.lifeboat.predictor.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.predictor.FakeDrainer;
import org.lifeboat.predictor.FakeEvacuator;
import org.lifeboat.predictor.config.PredictorConfig;

/**
 * Issue 22, as a local user did it: the agent on node2, its intake on the loopback port every local user
 * can reach, Slurm knowing node1..node3, and a {@code curl} naming another node. Each attack must leave
 * every node undrained.
 */
class PredictionIntakeAttackTest {

    private static final String PREDICTIONS = "/api/v1/predictions";
    private static final String ALERTMANAGER = "/api/v1/alertmanager";
    private static final String PREDICTION_FOR_NODE3 = "{\"node\": \"node3\", \"within\": \"5m\", \"confidence\": 1.0}";

    @TempDir
    Path directory;

    private final FakeDrainer drainer = new FakeDrainer();
    private final FakeEvacuator evacuator = new FakeEvacuator();
    private final HttpClient client = HttpClient.newHttpClient();
    private PredictorService service;
    private HttpServer server;

    @BeforeEach
    void startTheAgentsIntake() throws Exception {
        // The defaults, but for where the token lives: a test must not write to /etc.
        PredictorConfig config = PredictorConfig.fromFile(null, null, null, directory.resolve("prediction-token").toString(),
                null, null, null, null, null);
        service = new PredictorService(config, "node2", node -> List.of("node1", "node2", "node3").contains(node), drainer,
                evacuator, (source, outcome) -> { }, (command, timeout) -> { throw new AssertionError("no tool runs"); },
                Clock.systemUTC());
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext(PREDICTIONS, service.handlers().predictions());
        server.createContext(ALERTMANAGER, service.handlers().alertmanager());
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
        service.stop();
    }

    @Test
    void aUsersPredictionWithoutTheTokenDrainsNoNode() throws Exception {
        HttpResponse<String> response = post(PREDICTIONS, PREDICTION_FOR_NODE3, null);

        assertEquals(401, response.statusCode(), response.body());
        assertNoNodeWasTouched();
    }

    @Test
    void aUsersAlertmanagerNotificationWithoutTheTokenDrainsNoNode() throws Exception {
        HttpResponse<String> response = post(ALERTMANAGER, """
                {"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "X", "node": "node2"},
                 "startsAt": "2026-01-01T00:00:00Z", "fingerprint": "f1"}]}""", null);

        assertEquals(401, response.statusCode(), response.body());
        assertNoNodeWasTouched();
    }

    @Test
    void evenWithTheTokenThisAgentSpeaksOnlyForItsOwnNode() throws Exception {
        String token = "Bearer " + Files.readString(directory.resolve("prediction-token")).strip();

        HttpResponse<String> forNode3 = post(PREDICTIONS, PREDICTION_FOR_NODE3, token);

        assertEquals(403, forNode3.statusCode(), forNode3.body());
        assertTrue(forNode3.body().contains("accepts predictions for node2 only"), forNode3.body());
        HttpResponse<String> forNode2 = post(PREDICTIONS, PREDICTION_FOR_NODE3.replace("node3", "node2"), token);
        assertEquals(200, forNode2.statusCode(), forNode2.body());
        service.stop();
        assertEquals(List.of("drain node2"), drainer.calls);
    }

    private HttpResponse<String> post(String path, String body, String authorization) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path))
                .timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Stopping the service first waits for its queued drains and evacuations, so none can come later. */
    private void assertNoNodeWasTouched() {
        service.stop();
        assertEquals(List.of(), drainer.calls);
        assertEquals(List.of(), evacuator.evacuations);
    }
}
