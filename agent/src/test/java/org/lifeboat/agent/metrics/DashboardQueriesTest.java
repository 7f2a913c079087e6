package org.lifeboat.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.config.HttpConfig;
import org.lifeboat.agent.criu.CriuCapabilities;
import org.lifeboat.agent.health.DependencyState;
import org.lifeboat.agent.health.HealthReport;
import org.lifeboat.agent.http.AgentHttpServer;
import org.lifeboat.agent.migration.MigrationException;
import org.lifeboat.agent.migration.Reports;
import org.lifeboat.agent.registry.JobRegistry;
import org.lifeboat.agent.registry.RegistryStore;
import org.lifeboat.agent.socket.AgentClient;
import org.lifeboat.agent.socket.AgentSocketServer;
import org.lifeboat.agent.socket.Authorizer;
import org.lifeboat.agent.socket.JobNetworkRequests;
import org.lifeboat.agent.socket.RequestHandler;
import org.lifeboat.testbed.Testbed;

/**
 * Every dashboard query returns data from a real Prometheus once a migration has been recorded
 * between two scrapes: the agent's meters, served by its own HTTP server, with the migration's
 * report as the engine makes it. The testbed's MetricsDashboardTest does the same with real agents
 * and a real migration; this one needs neither and runs with the unit tests.
 */
@Timeout(120)
class DashboardQueriesTest {

    private static final Duration SCRAPES = Duration.ofSeconds(30);

    @TempDir
    Path directory;

    @Test
    void afterARecordedMigrationEveryDashboardQueryHasAFiniteValue() throws Exception {
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new AgentMetrics("1.2.3", "node1").bindTo(meters);
        new CriuMetrics(Optional.of(new CriuCapabilities("4.2.1", true, Map.of("lazy-pages", false)))).bindTo(meters);
        MigrationMetrics migrations = new MigrationMetrics(meters);
        migrations.watchInFlight("source", () -> 0);
        migrations.watchInFlight("target", () -> 0);
        new PredictionMetrics(meters);
        JobRegistry registry = new JobRegistry(new RegistryStore(directory), Clock.systemUTC());
        new NodeMetrics(registry::size, () -> false, () -> false).bindTo(meters);
        HealthReport health = HealthReport.all(DependencyState.ready("fine"));
        new DependencyMetrics(() -> health).bindTo(meters);
        Path socket = directory.resolve("agent.sock");
        AgentSocketServer socketServer = new AgentSocketServer(socket, new RequestHandler(registry, new Authorizer(64030),
                (job, target, mode) -> {
                    throw new MigrationException(MigrationException.Reason.CONFLICT, "not part of this test");
                }, JobNetworkRequests.NONE, List::of), meters, Duration.ofSeconds(5));
        AgentHttpServer http = new AgentHttpServer(new HttpConfig("127.0.0.1", 0, null, null), "node1", "1.2.3", meters,
                () -> health);
        socketServer.start();
        http.start();
        try (RealPrometheus prometheus = RealPrometheus.start(Files.createDirectory(directory.resolve("prometheus")),
                List.of("127.0.0.1:" + ((InetSocketAddress) http.boundAddress()).getPort()),
                Testbed.locateRepository().resolve("config/prometheus/lifeboat-rules.yml"))) {
            new AgentClient(socket).send(new AgentClient(socket).newRequest("status"));
            prometheus.awaitTargetsUp(1, SCRAPES);
            // A sample of every series before the migration, so that increase() sees it happen.
            prometheus.await(() -> prometheus.value("count_over_time(up{job=\"lifeboat\"}[1h])", 0) >= 2, SCRAPES,
                    "Prometheus did not scrape twice");

            migrations.migrationEnded(Reports.migrated("job42-aaaa", 42, 0));
            prometheus.await(() -> prometheus.value("sum(lifeboat_migrations_total{result=\"migrated\"})", 0) == 1, SCRAPES,
                    "Prometheus did not scrape the migration");

            List<String> failures = GrafanaDashboard.load(Testbed.locateRepository()).queriesWithoutData(prometheus);
            assertEquals(List.of(), failures, failures.size() + " dashboard queries returned no finite value");
            // The phase the report timed at 924 ms is where Prometheus puts the median of the dump.
            double dumpMedian = prometheus.value("histogram_quantile(0.5, sum by (le) (increase("
                    + "lifeboat_migration_phase_seconds_bucket{phase=\"dump\"}[1h])))", -1);
            assertEquals(true, dumpMedian > 0.5 && dumpMedian <= 1.0, "median dump time " + dumpMedian);
        } finally {
            http.stop();
            socketServer.stop();
        }
    }
}
