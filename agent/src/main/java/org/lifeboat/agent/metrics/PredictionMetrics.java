package org.lifeboat.agent.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.lifeboat.predictor.PredictionOutcomes;
import org.lifeboat.predictor.PredictionSource;

/**
 * Counts failure predictions by where they came from and what became of them
 * ({@code lifeboat_predictions_total}); the failure-predictor adapter calls it. Both labels take
 * only the values of the adapter's {@link PredictionSource} and {@link PredictionOutcomes.Outcome},
 * so a predictor cannot grow the number of series; each pair is registered at zero up front, so
 * that the first prediction shows in {@code increase()}.
 */
public final class PredictionMetrics {

    /** Alertmanager's webhook, the generic HTTP endpoint, `lifeboat predict`, the local EDAC and IPMI detectors. */
    public static final List<String> SOURCES = Arrays.stream(PredictionSource.values()).map(PredictionSource::label).toList();
    /** recorded (below the threshold), evacuation-started, deduplicated, cancelled, ... (see the adapter). */
    public static final List<String> OUTCOMES = Arrays.stream(PredictionOutcomes.Outcome.values())
            .map(PredictionOutcomes.Outcome::label).toList();
    static final String NAME = "lifeboat.predictions";

    private final MeterRegistry registry;

    public PredictionMetrics(MeterRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
        for (String source : SOURCES) {
            for (String outcome : OUTCOMES) {
                counter(source, outcome);
            }
        }
    }

    /** Counts one prediction; an unknown source or outcome is a programming error, named in the exception. */
    public void record(String source, String outcome) {
        if (!SOURCES.contains(source)) {
            throw new IllegalArgumentException("unknown prediction source '" + source + "' (known: " + SOURCES + ")");
        }
        if (!OUTCOMES.contains(outcome)) {
            throw new IllegalArgumentException("unknown prediction outcome '" + outcome + "' (known: " + OUTCOMES + ")");
        }
        counter(source, outcome).increment();
    }

    private Counter counter(String source, String outcome) {
        return Counter.builder(NAME)
                .description("Failure predictions received, by source and by what the agent made of them")
                .tag("source", source)
                .tag("outcome", outcome)
                .register(registry);
    }
}
