package org.lifeboat.predictor.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.lifeboat.predictor.PredictionBook;
import org.lifeboat.predictor.PredictionSource;
import org.lifeboat.predictor.config.PredictorConfig;

class AlertmanagerWebhookTest {

    private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
    private static final String PATH = IntakeServer.ALERTMANAGER_PATH;

    private IntakeServer intake;

    @BeforeEach
    void start() throws Exception {
        intake = new IntakeServer(PredictorConfig.defaults(), new MutableClock(NOW));
    }

    @AfterEach
    void stop() {
        intake.close();
    }

    /** A notification shaped exactly like Alertmanager 0.25's (webhook version 4). */
    static String notification(String status, String alerts) {
        return """
                {"receiver":"lifeboat","status":"%s","alerts":[%s],
                 "groupLabels":{"alertname":"EdacCorrectableErrors"},
                 "commonLabels":{"alertname":"EdacCorrectableErrors"},
                 "commonAnnotations":{},
                 "externalURL":"http://alertmanager.example:9093","version":"4",
                 "groupKey":"{}:{alertname=\\"EdacCorrectableErrors\\"}","truncatedAlerts":0}
                """.formatted(status, alerts);
    }

    static String alert(String status, String labels, String annotations, String fingerprint) {
        return """
                {"status":"%s","labels":{%s},"annotations":{%s},
                 "startsAt":"2026-03-01T11:58:00.123456789Z","endsAt":"0001-01-01T00:00:00Z",
                 "generatorURL":"http://prometheus.example:9090/graph?g0.expr=x","fingerprint":"%s"}
                """.formatted(status, labels, annotations, fingerprint);
    }

    private static String edacAlert(String status, String node) {
        return alert(status, "\"alertname\":\"EdacCorrectableErrors\",\"node\":\"" + node + "\",\"severity\":\"warning\"",
                "\"summary\":\"DIMM errors rising\",\"lifeboat_lead_time\":\"5m\",\"lifeboat_confidence\":\"0.95\"",
                "fp-" + node);
    }

    private HttpResponse<String> post(String body) throws Exception {
        return intake.postJson(PATH, body);
    }

    private void assertNothingHappened() {
        assertEquals(List.of(), intake.evacuator.evacuations);
        assertEquals(List.of(), intake.drainer.calls);
        assertEquals(List.of(), intake.book.snapshot().evacuating());
        assertEquals(List.of(), intake.book.snapshot().recentlyRecorded());
    }

    @Test
    void aFiringAlertBecomesAPredictionWithItsLeadTimeConfidenceReasonAndFingerprint() throws Exception {
        HttpResponse<String> response = post(notification("firing", edacAlert("firing", "node2")));

        assertEquals(200, response.statusCode(), response.body());
        assertEquals("{\"status\":\"ok\",\"alerts\":[{\"node\":\"node2\",\"key\":\"alertmanager:fp-node2\","
                + "\"decision\":\"evacuation-started\"}]}", response.body());
        Prediction prediction = intake.book.snapshot().evacuating().get(0).predictions().get(0);
        assertEquals(new Prediction("node2", Instant.parse("2026-03-01T12:03:00.123456789Z"), 0.95, PredictionSource.ALERTMANAGER,
                "EdacCorrectableErrors: DIMM errors rising", "alertmanager:fp-node2"), prediction);
        assertEquals(1, intake.evacuator.evacuations.size());
        assertTrue(intake.drainer.isDrained("node2"));
    }

    @Test
    void withoutLifeboatAnnotationsTheDefaultsApplyAndTheInstanceLabelNamesTheNode() throws Exception {
        post(notification("firing", alert("firing", "\"alertname\":\"NodeHot\",\"instance\":\"node3.cluster:9100\"", "", "f3")));

        Prediction prediction = intake.book.snapshot().evacuating().get(0).predictions().get(0);
        assertEquals("node3", prediction.node());
        assertEquals(Instant.parse("2026-03-01T11:58:00.123456789Z").plus(Duration.ofMinutes(10)), prediction.deadline());
        assertEquals(0.9, prediction.confidence());
        assertEquals("NodeHot", prediction.reason());
    }

    @Test
    void aStartTimeAheadOfOurClockDoesNotPushTheDeadlineLater() throws Exception {
        post(notification("firing", alert("firing", "\"node\":\"node1\"", "\"lifeboat_lead_time\":\"1m\"", "f1")
                .replace("2026-03-01T11:58:00.123456789Z", "2026-03-01T13:00:00Z")));

        assertEquals(NOW.plus(Duration.ofMinutes(1)), intake.book.snapshot().evacuating().get(0).deadline());
    }

    @Test
    void aLeadTimeOrConfidenceMayAlsoComeFromALabelAndWithoutFingerprintTheLabelsAreTheKey() throws Exception {
        String body = notification("firing", """
                {"status":"firing","labels":{"node":"node1","lifeboat_confidence":"0.5"},"annotations":{}}""");
        post(body);
        post(body);

        List<Prediction> recorded = intake.book.snapshot().recentlyRecorded();
        assertEquals(2, recorded.size());
        assertEquals(0.5, recorded.get(0).confidence());
        assertEquals(recorded.get(0).dedupKey(), recorded.get(1).dedupKey());
        assertTrue(recorded.get(0).dedupKey().startsWith("alertmanager:labels-"), recorded.get(0).dedupKey());
        assertEquals(NOW.plus(Duration.ofMinutes(10)), recorded.get(0).deadline(), "no startsAt: from now");
        assertEquals(List.of(), intake.evacuator.evacuations, "below the threshold");
    }

    @Test
    void repeatedNotificationsCauseOneEvacuationAndTheResolvedOneWithdrawsIt() throws Exception {
        for (int repeat = 0; repeat < 3; repeat++) {
            assertEquals(200, post(notification("firing", edacAlert("firing", "node2"))).statusCode());
        }
        HttpResponse<String> resolved = post(notification("resolved", edacAlert("resolved", "node2")));

        assertEquals(200, resolved.statusCode());
        assertTrue(resolved.body().contains("\"decision\":\"held-down\""), resolved.body());
        assertEquals(1, intake.evacuator.evacuations.size());
        intake.clock.advance(Duration.ofMinutes(2));
        intake.book.expireHoldDowns();
        assertEquals(List.of("node2"), intake.evacuator.cancellations);
        assertEquals(List.of("drain node2", "undrain node2"), intake.drainer.calls);
    }

    @Test
    void aGroupWithOneAlertForAnUnknownNodeIsRefusedWhole() throws Exception {
        HttpResponse<String> response = post(notification("firing",
                edacAlert("firing", "node2") + "," + edacAlert("firing", "node99")));

        assertEquals(422, response.statusCode());
        assertTrue(response.body().contains("unknown node 'node99' (alert 1 (EdacCorrectableErrors), label node=\\\"node99\\\")"),
                response.body());
        assertNothingHappened();
        assertEquals(List.of("alertmanager rejected"), intake.outcomes.all());
    }

    @Test
    void anAlertWithoutAMappingLabelIsRefused() throws Exception {
        HttpResponse<String> response = post(notification("firing", alert("firing", "\"alertname\":\"DiskFull\",\"job\":\"x\"", "", "f")));

        assertEquals(422, response.statusCode());
        assertTrue(response.body().contains("alert 0 (DiskFull): cannot tell the node: none of the labels [node, instance] is present"),
                response.body());
        assertNothingHappened();
    }

    @Test
    void badLeadTimesAndConfidencesAreRefused() throws Exception {
        HttpResponse<String> leadTime = post(notification("firing", alert("firing", "\"node\":\"node2\"", "\"lifeboat_lead_time\":\"soon\"", "f")));
        HttpResponse<String> confidence = post(notification("firing", alert("firing", "\"node\":\"node2\"", "\"lifeboat_confidence\":\"1.5\"", "f")));
        HttpResponse<String> notANumber = post(notification("firing", alert("firing", "\"node\":\"node2\"", "\"lifeboat_confidence\":\"NaN\"", "f")));

        assertEquals(422, leadTime.statusCode());
        assertTrue(leadTime.body().contains("lifeboat_lead_time: 'soon' is not a duration like 90s, 5m or 1h30m"), leadTime.body());
        assertEquals(422, confidence.statusCode());
        assertTrue(confidence.body().contains("lifeboat_confidence must be a number from 0 to 1, got '1.5'"), confidence.body());
        assertEquals(422, notANumber.statusCode());
        assertNothingHappened();
    }

    @Test
    void wrongShapesAreBadRequests() throws Exception {
        String[] bodies = {
            "{\"alerts\":[]}",
            "{\"version\":4,\"alerts\":[]}",
            "{\"version\":\"4\"}",
            "{\"version\":\"4\",\"alerts\":{}}",
            "{\"version\":\"4\",\"alerts\":[17]}",
            "{\"version\":\"4\",\"alerts\":[{\"status\":\"pending\",\"labels\":{\"node\":\"node1\"}}]}",
            "{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\"}]}",
            "{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"node\":1}}]}",
            "{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"node\":\"node1\"},\"startsAt\":\"yesterday\"}]}",
            "{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"node\":\"node1\"},\"fingerprint\":7}]}",
            "[]",
            "\"version\"",
            "{\"version\":\"4\",\"version\":\"4\",\"alerts\":[]}",
            "{\"version\":\"4\",\"alerts\":[]} {}",
            "{\"version\":\"4\",\"alerts\":[",
            "",
        };
        for (String body : bodies) {
            assertEquals(400, post(body).statusCode(), body);
        }
        assertNothingHappened();
    }

    @Test
    void anotherWebhookVersionIsRefusedAsUnprocessable() throws Exception {
        HttpResponse<String> response = post(notification("firing", edacAlert("firing", "node2")).replace("\"version\":\"4\"", "\"version\":\"5\""));

        assertEquals(422, response.statusCode());
        assertTrue(response.body().contains("webhook version '5' is not supported; Lifeboat reads version 4"), response.body());
    }

    @Test
    void anEmptyAlertListIsFine() throws Exception {
        assertEquals(200, post("{\"version\":\"4\",\"alerts\":[]}").statusCode());
    }

    @Test
    void onlyJsonPostsAreAccepted() throws Exception {
        HttpResponse<String> get = intake.send(HttpRequest.newBuilder(intake.uri(PATH)).GET());
        HttpResponse<String> text = intake.send(HttpRequest.newBuilder(intake.uri(PATH)).header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString(notification("firing", edacAlert("firing", "node2")))));
        HttpResponse<String> withCharset = intake.send(HttpRequest.newBuilder(intake.uri(PATH))
                .header("Content-Type", "application/json; charset=utf-8")
                .POST(HttpRequest.BodyPublishers.ofString("{\"version\":\"4\",\"alerts\":[]}")));

        assertEquals(405, get.statusCode());
        assertEquals("POST", get.headers().firstValue("Allow").orElseThrow());
        assertEquals(415, text.statusCode());
        assertEquals(200, withCharset.statusCode());
        assertNothingHappened();
    }

    @Test
    void aBodyOverTheLimitIsRefusedWith413() throws Exception {
        String huge = notification("firing", edacAlert("firing", "node2")).replace("DIMM errors rising", "x".repeat(1_100_000));

        HttpResponse<String> response = post(huge);

        assertEquals(413, response.statusCode());
        assertTrue(response.body().contains("request body larger than 1048576 bytes"), response.body());
        assertNothingHappened();
    }

    @Test
    void whenSlurmCannotBeAskedTheAnswerIs503SoAlertmanagerRetries() throws Exception {
        intake.slurmDown = true;

        HttpResponse<String> response = post(notification("firing", edacAlert("firing", "node2")));

        assertEquals(503, response.statusCode());
        assertTrue(response.body().contains("Unable to contact slurm controller"), response.body());
        assertNothingHappened();
    }

    @Test
    void onlyRequestsCarryingTheTokenAreServed() throws Exception {
        String body = notification("firing", edacAlert("firing", "node2"));

        HttpResponse<String> without = intake.sendAsIs(HttpRequest.newBuilder(intake.uri(PATH))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)));
        HttpResponse<String> wrong = intake.sendAsIs(HttpRequest.newBuilder(intake.uri(PATH)).header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + IntakeServer.TOKEN.substring(1)).POST(HttpRequest.BodyPublishers.ofString(body)));
        assertEquals(401, without.statusCode());
        assertEquals(401, wrong.statusCode());
        assertNothingHappened();

        HttpResponse<String> right = post(body);
        assertEquals(200, right.statusCode());
        assertEquals(PredictionBook.Decision.EVACUATION_STARTED.label(),
                right.body().replaceAll(".*\"decision\":\"([a-z-]+)\".*\\s*", "$1"));
    }
}
