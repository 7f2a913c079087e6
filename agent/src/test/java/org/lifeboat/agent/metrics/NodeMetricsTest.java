package org.lifeboat.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class NodeMetricsTest {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AtomicInteger jobs = new AtomicInteger();
    private final AtomicBoolean draining = new AtomicBoolean();
    private final AtomicBoolean predicted = new AtomicBoolean();

    @Test
    void jobsDrainAndPredictionAreReadWhenScraped() {
        new NodeMetrics(jobs::get, draining::get, predicted::get).bindTo(registry);
        assertEquals(0, gauge(NodeMetrics.REGISTERED_JOBS));
        assertEquals(0, gauge(NodeMetrics.DRAINING));
        assertEquals(0, gauge(NodeMetrics.FAILURE_PREDICTED));

        jobs.set(3);
        draining.set(true);
        predicted.set(true);

        assertEquals(3, gauge(NodeMetrics.REGISTERED_JOBS));
        assertEquals(1, gauge(NodeMetrics.DRAINING));
        assertEquals(1, gauge(NodeMetrics.FAILURE_PREDICTED));
    }

    @Test
    void inPrometheusTheyCarryTheNamesTheRulesUse() {
        new NodeMetrics(() -> 2, () -> true, () -> false).bindTo(registry);

        String scrape = registry.scrape();

        assertTrue(scrape.contains("\nlifeboat_registered_jobs 2.0\n"), scrape);
        assertTrue(scrape.contains("\nlifeboat_node_draining 1.0\n"), scrape);
        assertTrue(scrape.contains("\nlifeboat_node_failure_predicted 0.0\n"), scrape);
    }

    private double gauge(String name) {
        return registry.get(name).gauge().value();
    }
}
