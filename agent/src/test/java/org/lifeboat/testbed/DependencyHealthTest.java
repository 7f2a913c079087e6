package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * /health per dependency on the real cluster, with munged taken away and given back. The testbed runs
 * one munged, in the host's namespace, for slurmctld and all the nodes (testbed/cluster.sh's
 * munge_up): it cannot be stopped for one node alone, so every agent loses it, and Slurm with them.
 * The outage is kept short (the testbed's agents check every 5 s; Slurm marks a node that has not
 * answered for its SlurmdTimeout of 30 s down), and `cluster.sh up` starts munged again, with the
 * same key, whatever the test got to.
 */
@TestbedIntegration
final class DependencyHealthTest {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final ObjectMapper JSON = new ObjectMapper();
    // Two rounds of the testbed's 5 s checks, and a `scontrol ping` that waits on its controller.
    private static final Duration HEALTH_CHANGE = Duration.ofSeconds(40);

    @Test
    void withMungedStoppedEveryAgentAnswers503NamingMungeAndWithItBack200(Testbed testbed) throws Exception {
        for (String node : Testbed.NODES) {
            awaitHealth(testbed, node, 200, HEALTH_CHANGE);
        }
        String munged = Files.readString(testbed.runDirectory().resolve("munge/munged.pid")).strip();
        Map<String, JsonNode> unready = new TreeMap<>();
        String metrics;
        try {
            testbed.run("kill", "-TERM", munged).orThrow();
            Testbed.await(() -> !Files.exists(Path.of("/proc", munged)), Duration.ofSeconds(10),
                    () -> "munged " + munged + " did not stop");
            for (String node : Testbed.NODES) {
                unready.put(node, awaitHealth(testbed, node, 503, HEALTH_CHANGE));
            }
            metrics = get(testbed.agentUrl("node1", "/metrics")).body();
        } finally {
            // Starts munged again as the testbed did (same key, socket and pid file) and waits until every
            // agent's /health says ok again.
            testbed.run(Duration.ofMinutes(3), List.of(testbed.clusterScript().toString(), "up")).orThrow();
        }

        unready.forEach((node, health) -> {
            assertEquals("unready", health.path("status").asText(), node + ": " + health);
            assertEquals(node, health.path("node").asText(), health.toString());
            JsonNode dependencies = health.path("dependencies");
            assertEquals(false, dependencies.path("munge").path("ready").asBoolean(true), node + ": " + health);
            assertTrue(dependencies.path("munge").path("detail").asText().contains("munge"), node + ": " + health);
            assertTrue(health.path("reason").asText().contains("munge: "), node + ": " + health);
            // Losing munged explains munge and Slurm (every Slurm request needs a credential), nothing else.
            assertEquals(true, dependencies.path("criu").path("ready").asBoolean(false), node + ": " + health);
            assertEquals(true, dependencies.path("checkpoint-directory").path("ready").asBoolean(false), node + ": " + health);
        });
        assertTrue(metrics.contains("lifeboat_dependency_ready{dependency=\"munge\"} 0"), metrics);
        for (String node : Testbed.NODES) {
            JsonNode health = awaitHealth(testbed, node, 200, HEALTH_CHANGE);
            assertEquals("ok", health.path("status").asText(), health.toString());
            assertEquals(true, health.path("dependencies").path("munge").path("ready").asBoolean(false), health.toString());
            assertEquals(true, health.path("dependencies").path("slurm").path("ready").asBoolean(false), health.toString());
        }
        assertTrue(get(testbed.agentUrl("node1", "/metrics")).body().contains("lifeboat_dependency_ready{dependency=\"munge\"} 1"));
    }

    /** Waits until the node's /health answers with this status; returns its body. */
    private static JsonNode awaitHealth(Testbed testbed, String node, int status, Duration timeout) {
        String url = testbed.agentUrl(node, "/health");
        String[] last = {"nothing yet"};
        JsonNode[] body = new JsonNode[1];
        Testbed.await(() -> {
            try {
                HttpResponse<String> response = get(url);
                last[0] = response.statusCode() + " " + response.body();
                if (response.statusCode() != status) {
                    return false;
                }
                body[0] = JSON.readTree(response.body());
                return true;
            } catch (IOException e) {
                last[0] = e.toString();
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }, timeout, () -> node + "'s /health did not answer " + status + " within " + timeout.toSeconds() + " s; last: " + last[0]);
        return body[0];
    }

    private static HttpResponse<String> get(String url) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).GET().build();
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    }
}
