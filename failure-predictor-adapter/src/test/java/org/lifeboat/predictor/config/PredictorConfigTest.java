package org.lifeboat.predictor.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PredictorConfigTest {

    /** Configured like the agent's loader: unknown keys are errors, no float where an integer is meant. */
    private static final ObjectMapper YAML = YAMLMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .build();

    private static final PredictorConfig DEFAULTS = PredictorConfig.defaults();

    private static PredictorConfig read(String yaml) throws Exception {
        return YAML.readValue(yaml, PredictorConfig.class);
    }

    private static String invalidKey(String yaml) {
        ValueInstantiationException e = assertThrows(ValueInstantiationException.class, () -> read(yaml));
        return ((InvalidPredictorConfigException) e.getCause()).key();
    }

    @Test
    void confidenceThresholdDefaultsTo08() {
        assertEquals(0.8, DEFAULTS.confidenceThreshold());
    }

    @Test
    void holdDownDefaultsToTwoMinutes() {
        assertEquals(Duration.ofMinutes(2), DEFAULTS.holdDown());
    }

    @Test
    void bodiesAreLimitedToOneMebibyteByDefault() {
        assertEquals(1_048_576, DEFAULTS.maxBodyBytes());
    }

    @Test
    void theTokenIsInEtcLifeboatPredictionTokenByDefault() {
        assertEquals(Path.of("/etc/lifeboat/prediction-token"), DEFAULTS.tokenFile());
    }

    @Test
    void predictionsAreAcceptedForTheAgentsOwnNodeOnlyByDefault() {
        assertEquals(Optional.empty(), DEFAULTS.acceptedNodes());
    }

    @Test
    void alertsNameTheirNodeByNodeThenInstanceUpToTheFirstDotOrColonByDefault() {
        assertEquals(List.of("node", "instance"), DEFAULTS.alertmanager().nodeLabels());
        assertEquals("^([^.:]+)", DEFAULTS.alertmanager().nodePattern());
    }

    @Test
    void alertsCarryLeadTimeAndConfidenceInLifeboatAnnotationsWithDefaultsOfTenMinutesAnd09() {
        assertEquals("lifeboat_lead_time", DEFAULTS.alertmanager().leadTimeKey());
        assertEquals("lifeboat_confidence", DEFAULTS.alertmanager().confidenceKey());
        assertEquals(Duration.ofMinutes(10), DEFAULTS.alertmanager().defaultLeadTime());
        assertEquals(0.9, DEFAULTS.alertmanager().defaultConfidence());
    }

    @Test
    void edacIsWatchedEveryMinuteInSysfsWithTenErrorsPerMinuteGivingThirtyMinutesAt09() {
        EdacDetectorConfig edac = DEFAULTS.edac();
        assertTrue(edac.enabled());
        assertEquals(Path.of("/sys/devices/system/edac/mc"), edac.sysfsRoot());
        assertEquals(Duration.ofMinutes(1), edac.interval());
        assertEquals(10, edac.correctableErrorsPerInterval());
        assertEquals(Duration.ofMinutes(30), edac.leadTime());
        assertEquals(0.9, edac.confidence());
    }

    @Test
    void theSelIsReadWithUsrBinIpmitoolEveryFiveMinutesWithOneEventGivingThirtyMinutesAt09() {
        IpmiDetectorConfig ipmi = DEFAULTS.ipmi();
        assertTrue(ipmi.enabled());
        assertEquals(Path.of("/usr/bin/ipmitool"), ipmi.ipmitool());
        assertEquals(Duration.ofMinutes(5), ipmi.interval());
        assertEquals(1, ipmi.correctableEventsPerInterval());
        assertEquals(Duration.ofMinutes(30), ipmi.leadTime());
        assertEquals(0.9, ipmi.confidence());
    }

    @Test
    void planningAssumes250MegabytesPerSecondAndTwoSecondsOverhead() {
        assertEquals(250_000_000L, DEFAULTS.planning().linkBytesPerSecond());
        assertEquals(Duration.ofSeconds(2), DEFAULTS.planning().migrationOverhead());
    }

    @Test
    void anEmptySectionIsAllDefaults() throws Exception {
        assertEquals(DEFAULTS, read("{}"));
    }

    @Test
    void everyKeyIsRead() throws Exception {
        PredictorConfig config = read("""
                confidence-threshold: 0.5
                hold-down: 30s
                max-body-bytes: 65536
                token-file: /etc/lifeboat/predictor.token
                accepted-nodes: [node1, node2]
                alertmanager:
                  node-labels: [hostname]
                  node-pattern: '^node-(\\d+)'
                  lead-time-key: ttf
                  confidence-key: p
                  default-lead-time: 1h
                  default-confidence: 1
                edac:
                  enabled: false
                  sysfs-root: /tmp/fake-edac
                  interval: 10s
                  correctable-errors-per-interval: 3
                  lead-time: 15m
                  confidence: 0.85
                ipmi:
                  enabled: false
                  ipmitool: /opt/ipmitool
                  interval: 1m
                  correctable-events-per-interval: 4
                  lead-time: 20m
                  confidence: 0.95
                planning:
                  link-bytes-per-second: 1000000000
                  migration-overhead: 500ms
                """);

        assertEquals(new PredictorConfig(0.5, Duration.ofSeconds(30), 65536, Path.of("/etc/lifeboat/predictor.token"),
                Optional.of(List.of("node1", "node2")),
                new AlertmanagerIntakeConfig(List.of("hostname"), "^node-(\\d+)", "ttf", "p", Duration.ofHours(1), 1.0),
                new EdacDetectorConfig(false, Path.of("/tmp/fake-edac"), Duration.ofSeconds(10), 3, Duration.ofMinutes(15), 0.85),
                new IpmiDetectorConfig(false, Path.of("/opt/ipmitool"), Duration.ofMinutes(1), 4, Duration.ofMinutes(20), 0.95),
                new PlanningConfig(1_000_000_000L, Duration.ofMillis(500))), config);
    }

    @Test
    void everyNodeIsAStar() throws Exception {
        assertEquals(Optional.of(List.of("*")), read("accepted-nodes: ['*']").acceptedNodes());
    }

    @Test
    void unknownKeysAreErrorsAtEveryLevel() {
        assertThrows(UnrecognizedPropertyException.class, () -> read("hold-downs: 1m"));
        assertThrows(UnrecognizedPropertyException.class, () -> read("edac: {intervall: 1m}"));
        assertThrows(UnrecognizedPropertyException.class, () -> read("alertmanager: {nodeLabels: [x]}"));
    }

    @Test
    void planningLeavesHowManyMigrationsRunAtOnceToTheAgentsEvacuationConcurrency() {
        // The agent's loader reads an old max-concurrent-migrations as evacuation.concurrency before this section sees it.
        assertThrows(UnrecognizedPropertyException.class, () -> read("planning: {max-concurrent-migrations: 2}"));
    }

    @Test
    void invalidValuesNameTheirFullKey() {
        assertEquals("predictor.confidence-threshold", invalidKey("confidence-threshold: 1.5"));
        assertEquals("predictor.hold-down", invalidKey("hold-down: 2 minutes"));
        assertEquals("predictor.max-body-bytes", invalidKey("max-body-bytes: 10"));
        assertEquals("predictor.token-file", invalidKey("token-file: relative/token"));
        assertEquals("predictor.accepted-nodes", invalidKey("accepted-nodes: []"));
        assertEquals("predictor.accepted-nodes", invalidKey("accepted-nodes: ['node1 node2']"));
        assertEquals("predictor.alertmanager.node-labels", invalidKey("alertmanager: {node-labels: []}"));
        assertEquals("predictor.alertmanager.node-labels", invalidKey("alertmanager: {node-labels: ['not a label']}"));
        assertEquals("predictor.alertmanager.node-pattern", invalidKey("alertmanager: {node-pattern: '^[^.:]+'}"));
        assertEquals("predictor.alertmanager.node-pattern", invalidKey("alertmanager: {node-pattern: '(unclosed'}"));
        assertEquals("predictor.alertmanager.default-confidence", invalidKey("alertmanager: {default-confidence: -0.1}"));
        assertEquals("predictor.edac.interval", invalidKey("edac: {interval: 500ms}"));
        assertEquals("predictor.edac.correctable-errors-per-interval", invalidKey("edac: {correctable-errors-per-interval: 0}"));
        assertEquals("predictor.edac.sysfs-root", invalidKey("edac: {sysfs-root: sys/edac}"));
        assertEquals("predictor.ipmi.interval", invalidKey("ipmi: {interval: 1s}"));
        assertEquals("predictor.planning.link-bytes-per-second", invalidKey("planning: {link-bytes-per-second: 0}"));
    }

    @Test
    void theSectionsAreValuesThatCompareEqual() {
        assertEquals(PredictorConfig.defaults(), PredictorConfig.defaults());
        assertEquals(PredictorConfig.defaults().hashCode(), PredictorConfig.defaults().hashCode());
        assertFalse(DEFAULTS.equals(PredictorConfig.fromFile(0.7, null, null, null, null, null, null, null, null)));
    }
}
