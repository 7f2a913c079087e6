package org.lifeboat.predictor.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lifeboat.predictor.MutableClock;
import org.lifeboat.predictor.Prediction;
import org.lifeboat.predictor.PredictionSource;
import org.lifeboat.predictor.config.PredictorConfig;

class PredictionRequestsTest {

    private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    private static final String PATH = IntakeServer.PREDICTIONS_PATH;

    private IntakeServer intake;

    @BeforeEach
    void start() throws Exception {
        intake = new IntakeServer(PredictorConfig.defaults(), new MutableClock(NOW));
    }

    @AfterEach
    void stop() {
        intake.close();
    }

    private HttpResponse<String> post(String body) throws Exception {
        return intake.postJson(PATH, body);
    }

    private void assertRefused(int status, String body, String message) throws Exception {
        HttpResponse<String> response = post(body);
        assertEquals(status, response.statusCode(), body + " -> " + response.body());
        String error = new ObjectMapper().readTree(response.body()).path("error").asText();
        assertTrue(error.contains(message), error);
        assertEquals(List.of(), intake.evacuator.evacuations);
        assertEquals(List.of(), intake.book.snapshot().recentlyRecorded());
    }

    @Test
    void aPredictionFromTheCommandLineStartsAnEvacuation() throws Exception {
        HttpResponse<String> response = post("""
                {"node":"node2","within":"5m","confidence":0.9,"reason":"fan failing","source":"cli"}""");

        assertEquals(200, response.statusCode());
        assertEquals("{\"status\":\"ok\",\"node\":\"node2\",\"decision\":\"evacuation-started\"}", response.body());
        assertEquals(new Prediction("node2", NOW.plus(Duration.ofMinutes(5)), 0.9, PredictionSource.CLI, "fan failing", "cli:node2"),
                intake.book.snapshot().evacuating().get(0).predictions().get(0));
        assertEquals(List.of("cli evacuation-started"), intake.outcomes.all());
    }

    @Test
    void theSourceDefaultsToHttpAndARepeatIsDeduplicated() throws Exception {
        post("{\"node\":\"node1\",\"within\":\"1h\",\"confidence\":1}");
        HttpResponse<String> repeat = post("{\"node\":\"node1\",\"within\":\"30m\",\"confidence\":1,\"reason\":\"worse\"}");

        assertTrue(repeat.body().contains("\"decision\":\"deduplicated\""), repeat.body());
        List<Prediction> predictions = intake.book.snapshot().evacuating().get(0).predictions();
        assertEquals(1, predictions.size());
        assertEquals("http:node1", predictions.get(0).dedupKey());
        assertEquals("worse", predictions.get(0).reason());
        assertEquals(List.of("node1 " + NOW.plus(Duration.ofMinutes(30))), intake.evacuator.advances);
    }

    @Test
    void aCancellationWithdrawsEveryPredictionOfTheNode() throws Exception {
        post("{\"node\":\"node2\",\"within\":\"5m\",\"confidence\":0.9}");
        post("{\"node\":\"node2\",\"within\":\"5m\",\"confidence\":0.9,\"source\":\"cli\"}");

        HttpResponse<String> cancel = post("{\"node\":\"node2\",\"cancel\":true,\"source\":\"cli\",\"reason\":\"DIMM replaced\"}");

        assertTrue(cancel.body().contains("\"decision\":\"held-down\""), cancel.body());
        intake.clock.advance(Duration.ofMinutes(2));
        intake.book.expireHoldDowns();
        assertEquals(List.of("node2"), intake.evacuator.cancellations);
        HttpResponse<String> again = post("{\"node\":\"node2\",\"cancel\":true}");
        assertTrue(again.body().contains("\"decision\":\"nothing-to-withdraw\""), again.body());
    }

    @Test
    void getShowsTheBook() throws Exception {
        post("{\"node\":\"node2\",\"within\":\"5m\",\"confidence\":0.9,\"reason\":\"r\"}");
        post("{\"node\":\"node3\",\"within\":\"5m\",\"confidence\":0.2,\"reason\":\"maybe\"}");

        JsonNode book = new ObjectMapper().readTree(intake.send(HttpRequest.newBuilder(intake.uri(PATH)).GET()).body());

        assertEquals("node2", book.path("evacuating").get(0).path("node").asText());
        assertEquals("2026-03-01T12:05:00Z", book.path("evacuating").get(0).path("deadline").asText());
        assertTrue(book.path("evacuating").get(0).path("withdrawn-since").isNull());
        assertEquals("http:node2", book.path("evacuating").get(0).path("predictions").get(0).path("key").asText());
        assertEquals("maybe", book.path("recently-recorded").get(0).path("reason").asText());
    }

    @Test
    void badRequestsAreRefusedWithMessagesAndChangeNothing() throws Exception {
        assertRefused(400, "{\"node\":\"node2\",\"within\":\"5m\",\"confidence\":0.9,\"priority\":1}", "unknown field \"priority\"");
        assertRefused(400, "{\"within\":\"5m\",\"confidence\":0.9}", "\"node\" is missing");
        assertRefused(400, "{\"node\":\"node2\",\"confidence\":0.9}", "\"within\" is missing");
        assertRefused(400, "{\"node\":\"node2\",\"within\":300,\"confidence\":0.9}", "\"within\" must be a string");
        assertRefused(400, "{\"node\":\"node2\",\"within\":\"5m\",\"confidence\":\"high\"}", "\"confidence\" must be a number from 0 to 1");
        assertRefused(400, "{\"node\":\"node2\",\"within\":\"5m\"}", "\"confidence\" must be a number from 0 to 1");
        assertRefused(400, "{\"node\":\"node2\",\"cancel\":\"yes\"}", "\"cancel\" must be true or false");
        assertRefused(400, "{\"node\":\"node2\",\"cancel\":true,\"within\":\"5m\"}", "a cancellation takes no \"within\" or \"confidence\"");
        assertRefused(400, "{\"node\":[\"node2\"],\"within\":\"5m\",\"confidence\":1}", "\"node\" must be a string");
        assertRefused(422, "{\"node\":\"node2\",\"within\":\"soon\",\"confidence\":0.9}", "\"within\": 'soon' is not a duration");
        assertRefused(422, "{\"node\":\"node2\",\"within\":\"5m\",\"confidence\":1.2}", "\"confidence\" must be from 0 to 1, got 1.2");
        assertRefused(422, "{\"node\":\"node9\",\"within\":\"5m\",\"confidence\":0.9}", "unknown node 'node9' (field node): Slurm has no such node");
        assertRefused(422, "{\"node\":\"node 2; rm\",\"within\":\"5m\",\"confidence\":0.9}", "is not a node name");
        assertRefused(422, "{\"node\":\"node2\",\"within\":\"5m\",\"confidence\":0.9,\"source\":\"edac\"}", "\"source\" must be \"http\" or \"cli\"");
        assertEquals(14, intake.outcomes.all().stream().filter(outcome -> outcome.equals("http rejected")).count());
    }

    @Test
    void otherMethodsAreNotAllowed() throws Exception {
        HttpResponse<String> delete = intake.send(HttpRequest.newBuilder(intake.uri(PATH)).DELETE());

        assertEquals(405, delete.statusCode());
        assertEquals("GET, POST", delete.headers().firstValue("Allow").orElseThrow());
    }
}
