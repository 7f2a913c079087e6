package org.lifeboat.predictor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class PredictionTest {

    private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");

    private static Prediction withReason(String reason) {
        return Prediction.within("node2", Duration.ofMinutes(5), NOW, 0.9, PredictionSource.CLI, reason, "cli:node2");
    }

    @Test
    void theDeadlineIsTheLeadTimeFromNow() {
        assertEquals(NOW.plusSeconds(300), withReason("r").deadline());
    }

    @Test
    void aReasonBecomesOneShortPrintableLine() {
        assertEquals("DIMM A1 failing fast", withReason("  DIMM A1\n\tfailing\u0000 \r\n fast ").reason());
        String longReason = withReason("x".repeat(500)).reason();
        assertEquals(Prediction.MAX_REASON_LENGTH, longReason.codePointCount(0, longReason.length()));
        String emoji = withReason("\uD83D\uDD25".repeat(300)).reason();
        assertEquals(Prediction.MAX_REASON_LENGTH, emoji.codePointCount(0, emoji.length()), "never cut inside a character");
    }

    @Test
    void refusesABadNodeConfidenceOrKey() {
        assertThrows(IllegalArgumentException.class,
                () -> new Prediction("node 2", NOW, 0.5, PredictionSource.HTTP, "r", "k"));
        assertThrows(IllegalArgumentException.class,
                () -> new Prediction("node2", NOW, 1.01, PredictionSource.HTTP, "r", "k"));
        assertThrows(IllegalArgumentException.class,
                () -> new Prediction("node2", NOW, Double.NaN, PredictionSource.HTTP, "r", "k"));
        assertThrows(IllegalArgumentException.class,
                () -> new Prediction("node2", NOW, 0.5, PredictionSource.HTTP, "r", ""));
    }

    @Test
    void sourcesHaveLowerCaseLabelsAndAreFoundByThem() {
        assertEquals("alertmanager", PredictionSource.ALERTMANAGER.label());
        for (PredictionSource source : PredictionSource.values()) {
            assertEquals(source, PredictionSource.fromLabel(source.label()).orElseThrow());
        }
        assertEquals(java.util.Optional.empty(), PredictionSource.fromLabel("ALERTMANAGER"));
    }

    @Test
    void outcomeLabelsAreKebabCase() {
        assertEquals("cancelled-after-migration", PredictionOutcomes.Outcome.CANCELLED_AFTER_MIGRATION.label());
        assertEquals("evacuation-started", PredictionBook.Decision.EVACUATION_STARTED.label());
    }
}
