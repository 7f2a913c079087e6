package org.lifeboat.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

class PredictionMetricsTest {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final PredictionMetrics predictions = new PredictionMetrics(registry);

    @Test
    void everySourceAndOutcomeIsThereAtZeroFromTheStart() {
        assertEquals(PredictionMetrics.SOURCES.size() * PredictionMetrics.OUTCOMES.size(),
                registry.find(PredictionMetrics.NAME).counters().size());
        registry.find(PredictionMetrics.NAME).counters().forEach(counter -> assertEquals(0, counter.count()));
    }

    @Test
    void aPredictionIsCountedUnderItsSourceAndOutcome() {
        predictions.record("alertmanager", "evacuation-started");
        predictions.record("alertmanager", "evacuation-started");
        predictions.record("edac", "recorded");

        assertEquals(2, count("alertmanager", "evacuation-started"));
        assertEquals(1, count("edac", "recorded"));
        assertEquals(0, count("alertmanager", "deduplicated"));
    }

    @Test
    void anUnknownSourceOrOutcomeIsRefusedAndAddsNoSeries() {
        IllegalArgumentException source = assertThrows(IllegalArgumentException.class,
                () -> predictions.record("node-17-bmc", "evacuation-started"));
        IllegalArgumentException outcome = assertThrows(IllegalArgumentException.class,
                () -> predictions.record("http", "maybe"));

        assertTrue(source.getMessage().startsWith("unknown prediction source 'node-17-bmc'"), source.getMessage());
        assertTrue(outcome.getMessage().startsWith("unknown prediction outcome 'maybe'"), outcome.getMessage());
        assertEquals(PredictionMetrics.SOURCES.size() * PredictionMetrics.OUTCOMES.size(),
                registry.find(PredictionMetrics.NAME).counters().size());
    }

    private double count(String source, String outcome) {
        return registry.get(PredictionMetrics.NAME).tag("source", source).tag("outcome", outcome).counter().count();
    }
}
