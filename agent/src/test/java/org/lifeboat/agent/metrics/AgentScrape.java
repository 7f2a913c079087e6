package org.lifeboat.agent.metrics;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Map;
import java.util.Optional;
import org.lifeboat.agent.criu.CriuCapabilities;
import org.lifeboat.agent.health.Dependency;
import org.lifeboat.agent.health.DependencyState;
import org.lifeboat.agent.health.HealthReport;
import org.lifeboat.agent.migration.Reports;

/**
 * A registry with the metrics package's meters after one migration that worked and one rolled
 * back, on a draining node whose agent cannot reach Slurm: what a real agent serves only once it
 * has migrated (AgentProcessTest scrapes a real one).
 */
final class AgentScrape {

    private AgentScrape() {}

    static PrometheusMeterRegistry afterTwoMigrations() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new AgentMetrics("1.2.3", "node1").bindTo(registry);
        new CriuMetrics(Optional.of(new CriuCapabilities("4.2.1", true, Map.of("lazy-pages", true)))).bindTo(registry);
        MigrationMetrics migrations = new MigrationMetrics(registry);
        migrations.watchInFlight("source", () -> 1);
        migrations.watchInFlight("target", () -> 0);
        migrations.migrationEnded(Reports.migrated("job42-aaaa", 42, 0));
        migrations.migrationEnded(Reports.rolledBack("job43-bbbb", 43, 0));
        new PredictionMetrics(registry).record("edac", "evacuation-started");
        new NodeMetrics(() -> 2, () -> true, () -> false).bindTo(registry);
        HealthReport health = HealthReport.all(DependencyState.ready("fine"))
                .with(Dependency.SLURM, DependencyState.notReady("scontrol ping exited 1"));
        new DependencyMetrics(() -> health).bindTo(registry);
        return registry;
    }
}
