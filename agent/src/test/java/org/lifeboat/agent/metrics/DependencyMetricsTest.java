package org.lifeboat.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.health.Dependency;
import org.lifeboat.agent.health.DependencyState;
import org.lifeboat.agent.health.HealthReport;

class DependencyMetricsTest {

    private static final HealthReport ALL_READY = HealthReport.all(DependencyState.ready("fine"));

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AtomicReference<HealthReport> health = new AtomicReference<>(ALL_READY);

    @Test
    void eachDependencyHasItsOwnSeriesReadFromTheLatestReport() {
        new DependencyMetrics(health::get).bindTo(registry);
        for (Dependency dependency : Dependency.values()) {
            assertEquals(1, ready(dependency), dependency.label());
        }

        health.set(ALL_READY.with(Dependency.MUNGE, DependencyState.notReady("munge could not make a credential")));

        assertEquals(0, ready(Dependency.MUNGE));
        assertEquals(1, ready(Dependency.SLURM));
    }

    @Test
    void inPrometheusItIsLifeboatDependencyReadyWithTheDependencyLabel() {
        new DependencyMetrics(() -> ALL_READY.with(Dependency.SLURM, DependencyState.notReady("down"))).bindTo(registry);

        String scrape = registry.scrape();

        assertTrue(scrape.contains("lifeboat_dependency_ready{dependency=\"slurm\"} 0"), scrape);
        assertTrue(scrape.contains("lifeboat_dependency_ready{dependency=\"checkpoint-directory\"} 1"), scrape);
    }

    private double ready(Dependency dependency) {
        return registry.get(DependencyMetrics.READY).tag("dependency", dependency.label()).gauge().value();
    }
}
