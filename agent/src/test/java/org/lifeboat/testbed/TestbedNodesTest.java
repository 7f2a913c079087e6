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
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Each testbed node looks like a host of its own: its own network namespace and address, its own
 * agent answering there, and a real link to the other nodes.
 */
@TestbedIntegration
final class TestbedNodesTest {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    void everyNodeRunsItsOwnAgentOnItsOwnAddress(Testbed testbed) throws IOException, InterruptedException {
        for (String node : Testbed.NODES) {
            HttpResponse<String> response = get(testbed.agentUrl(node, "/health"));
            assertEquals(200, response.statusCode());
            JsonNode health = new ObjectMapper().readTree(response.body());
            assertEquals("ok", health.path("status").asText());
            assertEquals(node, health.path("node").asText(), "the agent at " + Testbed.nodeAddress(node) + " is not " + node + "'s");
        }
    }

    @Test
    void everyAgentExportsPrometheusMetrics(Testbed testbed) throws IOException, InterruptedException {
        for (String node : Testbed.NODES) {
            HttpResponse<String> response = get(testbed.agentUrl(node, "/metrics"));
            assertEquals(200, response.statusCode());
            assertTrue(response.body().contains("lifeboat_agent_info{") && response.body().contains("node=\"" + node + "\""),
                    () -> node + "'s metrics lack lifeboat_agent_info:\n" + response.body());
        }
    }

    @Test
    void aNodeSeesOnlyItsOwnAddressAndReachesTheOthersOverTheLink(Testbed testbed) {
        String addresses = testbed.runOnNode("node1", "ip", "-o", "-4", "addr", "show").orThrow().stdout();
        assertTrue(addresses.contains(Testbed.nodeAddress("node1") + "/24"), addresses);
        assertTrue(!addresses.contains(Testbed.nodeAddress("node2") + "/"), addresses);

        String script = "exec 3<>/dev/tcp/" + Testbed.nodeAddress("node2") + "/" + Testbed.AGENT_HTTP_PORT
                + " && printf 'GET /health HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3";
        String reply = testbed.runOnNode("node1", "bash", "-c", script).orThrow().stdout();
        assertTrue(reply.contains("\"node\":\"node2\""), reply);
    }

    @Test
    void theLinkBetweenNodesCanBeShapedWithTc(Testbed testbed) {
        CommandResult shaped = testbed.runOnNode("node1", "tc", "qdisc", "replace", "dev", "eth0", "root",
                "tbf", "rate", "1gbit", "burst", "512kb", "latency", "50ms").orThrow();
        try {
            String qdisc = testbed.runOnNode("node1", "tc", "qdisc", "show", "dev", "eth0").orThrow().stdout();
            assertTrue(qdisc.contains("tbf") && qdisc.contains("rate 1Gbit"), qdisc);
        } finally {
            testbed.runOnNode("node1", "tc", "qdisc", "delete", "dev", "eth0", "root").orThrow();
        }
        assertEquals(0, shaped.exitCode());
    }

    private static HttpResponse<String> get(String url) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).GET().build();
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    }
}
