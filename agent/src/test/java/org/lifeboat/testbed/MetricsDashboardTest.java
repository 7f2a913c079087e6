package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.metrics.GrafanaDashboard;
import org.lifeboat.agent.metrics.RealPrometheus;

/**
 * A real Prometheus (Debian's package) scrapes the three testbed agents every second. After a real
 * migration from node1 to node2, every PromQL query of the Grafana dashboard returns data through
 * Prometheus' HTTP API, and what Prometheus holds of each phase, of the total, the downtime and
 * the bytes agrees with the migration's entry in `lifeboat history` on node1.
 */
@TestbedIntegration
final class MetricsDashboardTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MEMORY_MIB = 64;
    private static final String SOURCE = "node1";
    private static final String SOURCE_INSTANCE = Testbed.nodeAddress(SOURCE) + ":" + Testbed.AGENT_HTTP_PORT;
    private static final Duration SCRAPES = Duration.ofSeconds(60);
    // The agent reports milliseconds; Prometheus adds them up as seconds in floating point.
    private static final double SECONDS_TOLERANCE = 1e-6;

    @TempDir
    Path directory;

    @Test
    void afterARealMigrationEveryDashboardQueryHasDataAndAgreesWithHistory(Testbed testbed) throws Exception {
        List<String> agents = Testbed.NODES.stream().map(node -> Testbed.nodeAddress(node) + ":" + Testbed.AGENT_HTTP_PORT).toList();
        try (RealPrometheus prometheus = RealPrometheus.start(directory, agents,
                testbed.repository().resolve("config/prometheus/lifeboat-rules.yml"))) {
            prometheus.awaitTargetsUp(agents.size(), SCRAPES);
            Map<String, Double> before = sourceFigures(prometheus);

            MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, SOURCE, MEMORY_MIB);
            JsonNode entry;
            try {
                workload.awaitContainer(testbed, SOURCE);
                workload.awaitSequence(3);
                CommandResult migrate = testbed.lifeboat("migrate", Long.toString(workload.jobId), "--to", "node2",
                        "--mode", "diskless", "--json", "--socket", testbed.agentSocket(SOURCE).toString());
                assertEquals(0, migrate.exitCode(), migrate::describe);
                JsonNode report = JSON.readTree(migrate.stdout());
                entry = newestInHistory(testbed);
                assertEquals(report.path("migration").asText(), entry.path("migration").asText(), entry::toString);
                assertEquals(report.path("phase-millis"), entry.path("phase-millis"), "history and migrate disagree");
            } finally {
                workload.stop();
            }
            assertCriuFiguresAreFolded(entry);

            prometheus.await(() -> sourceFigures(prometheus).get("count") == before.get("count") + 1, SCRAPES,
                    "Prometheus did not scrape the migration from " + SOURCE_INSTANCE);
            Map<String, Double> after = sourceFigures(prometheus);
            for (Iterator<Map.Entry<String, JsonNode>> phases = entry.path("phase-millis").fields(); phases.hasNext(); ) {
                Map.Entry<String, JsonNode> phase = phases.next();
                assertEquals(phase.getValue().asLong() / 1000.0, after.get(phase.getKey()) - before.get(phase.getKey()),
                        SECONDS_TOLERANCE, "phase " + phase.getKey() + ": Prometheus against `lifeboat history` " + entry);
            }
            assertEquals(entry.path("total-millis").asLong() / 1000.0, after.get("total") - before.get("total"), SECONDS_TOLERANCE);
            assertEquals(entry.path("downtime-millis").asLong() / 1000.0, after.get("downtime") - before.get("downtime"),
                    SECONDS_TOLERANCE);
            assertEquals(entry.path("page-bytes").asDouble(), after.get("pages") - before.get("pages"), 0.5);
            assertEquals(entry.path("page-wire-bytes").asDouble(), after.get("pages-on-link") - before.get("pages-on-link"), 0.5);
            assertEquals(1, after.get("migrated") - before.get("migrated"), 0.5);

            List<String> failures = GrafanaDashboard.load(testbed.repository()).queriesWithoutData(prometheus);
            assertEquals(List.of(), failures, failures.size() + " dashboard queries returned no data");
            prometheus.ruleGroups().forEach(group -> group.path("rules").forEach(rule ->
                    assertEquals("ok", rule.path("health").asText(), rule.toString())));
            // Pending alerts count too: a rule whose condition holds on a healthy testbed is wrong even
            // before its `for` has passed (EvacuationStuck held for a node resumed after a prediction).
            JsonNode alerts = prometheus.query("ALERTS{alertname=~\"LifeboatMigrationsFailing|LifeboatAgentDown"
                    + "|LifeboatCriuMissing|LifeboatSlurmUnreachable|LifeboatMungeUnavailable"
                    + "|LifeboatCheckpointDirectoryNotReady|LifeboatEvacuationStuck\"}");
            assertEquals(0, alerts.size(), () -> "alerts on a healthy testbed: " + alerts);
            assertEquals(0, prometheus.value("count(lifeboat_dependency_ready == 0)", 0), "a dependency not ready on the testbed");
        }
    }

    /** What Prometheus holds now of node1's diskless migrations: each phase's seconds, and the other sums. */
    private static Map<String, Double> sourceFigures(RealPrometheus prometheus) {
        String selector = "instance=\"" + SOURCE_INSTANCE + "\", mode=\"diskless\"";
        Map<String, Double> figures = new LinkedHashMap<>();
        for (JsonNode series : prometheus.query("lifeboat_migration_phase_seconds_sum{" + selector + "}")) {
            figures.put(series.path("metric").path("phase").asText(), RealPrometheus.sampleValue(series));
        }
        figures.put("count", prometheus.value("lifeboat_migration_phase_seconds_count{" + selector + ", phase=\"dump\"}", 0));
        figures.put("total", prometheus.value("lifeboat_migration_duration_seconds_sum{" + selector + ", result=\"migrated\"}", 0));
        figures.put("downtime", prometheus.value("lifeboat_migration_downtime_seconds_sum{" + selector + "}", 0));
        figures.put("pages", prometheus.value("lifeboat_migration_transferred_bytes_total{" + selector + ", kind=\"pages\"}", 0));
        figures.put("pages-on-link", prometheus.value("lifeboat_migration_pages_on_link_bytes_total{" + selector + "}", 0));
        figures.put("migrated", prometheus.value("lifeboat_migrations_total{" + selector + ", result=\"migrated\"}", 0));
        return figures;
    }

    private static JsonNode newestInHistory(Testbed testbed) throws Exception {
        CommandResult history = testbed.lifeboat("history", "--json", "--limit", "1", "--socket",
                testbed.agentSocket(SOURCE).toString()).orThrow();
        JsonNode migrations = JSON.readTree(history.stdout()).path("migrations");
        assertEquals(1, migrations.size(), history::describe);
        return migrations.get(0);
    }

    /** CRIU's own statistics of the dump (on node1) and the restore (on node2) are in the history entry. */
    private static void assertCriuFiguresAreFolded(JsonNode entry) {
        JsonNode dump = entry.path("criu-dump");
        JsonNode restore = entry.path("criu-restore");
        long memory = (long) MEMORY_MIB << 20;
        assertTrue(dump.path("pages-written").asLong() * 4096 >= memory, "the workload's random memory was written: " + entry);
        assertTrue(dump.path("pages-written").asLong() * 4096 <= entry.path("page-bytes").asLong(),
                "what the page relay carried holds every page CRIU wrote: " + entry);
        assertTrue(dump.path("frozen-micros").asLong() > 0 && dump.path("memdump-micros").asLong() > 0, entry::toString);
        assertTrue(restore.path("pages-restored").asLong() * 4096 >= memory, "the workload's memory was restored: " + entry);
        assertTrue(restore.path("restore-micros").asLong() > 0, entry::toString);
        System.out.printf("%d MiB diskless: phases %s, CRIU dump %s, CRIU restore %s%n", MEMORY_MIB, entry.path("phase-millis"),
                dump, restore);
    }
}
