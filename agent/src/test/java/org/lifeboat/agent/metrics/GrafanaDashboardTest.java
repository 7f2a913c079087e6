package org.lifeboat.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.testbed.Testbed;

/**
 * The dashboard without a Prometheus: every query parses (promtool's PromQL parser) and uses only
 * variables the dashboard defines. AgentProcessTest checks that a real agent serves every metric
 * the queries name; MetricsDashboardTest that each returns data from the testbed's agents after
 * a real migration.
 */
class GrafanaDashboardTest {

    private static final Set<String> GRAFANA_BUILT_INS = Set.of("__range", "__rate_interval", "__interval");

    private final GrafanaDashboard dashboard = GrafanaDashboard.load(Testbed.locateRepository());

    @TempDir
    Path directory;

    GrafanaDashboardTest() throws Exception {}

    @Test
    void thereIsAPanelForEachThingAdminsWatch() {
        List<String> titles = new ArrayList<>();
        dashboard.json().path("panels").forEach(panel -> titles.add(panel.path("title").asText()));

        for (String expected : List.of("Migration time by phase, p50", "Migration time by phase, p95",
                "Total migration time and downtime", "Throughput", "Outcomes", "Evacuations per node",
                "Failure predictions by source and outcome")) {
            assertTrue(titles.contains(expected), expected + " missing from " + titles);
        }
        dashboard.json().path("panels").forEach(panel ->
                assertFalse(panel.path("targets").isEmpty(), panel.path("title").asText() + " has no query"));
    }

    @Test
    void everyQueryUsesOnlyVariablesTheDashboardDefinesOrGrafanaProvides() {
        List<String> defined = dashboard.templateVariables();
        assertEquals(List.of("datasource", "instance", "window"), defined);
        for (GrafanaDashboard.Query query : dashboard.queries()) {
            for (String variable : query.variables()) {
                assertTrue(defined.contains(variable) || GRAFANA_BUILT_INS.contains(variable), variable + " in " + query);
            }
        }
    }

    @Test
    void everyQueryIsValidPromQl() throws Exception {
        // Each query as a recording rule: promtool check rules runs Prometheus' own parser on it.
        ObjectMapper json = new ObjectMapper();
        ObjectNode file = json.createObjectNode();
        ObjectNode group = file.putArray("groups").addObject().put("name", "dashboard");
        ArrayNode rules = group.putArray("rules");
        List<GrafanaDashboard.Query> queries = dashboard.queries();
        for (int index = 0; index < queries.size(); index++) {
            rules.addObject().put("record", "dashboard:query" + index).put("expr", queries.get(index).resolve(GrafanaDashboard.VARIABLES));
        }
        Path rulesFile = Files.writeString(directory.resolve("dashboard-rules.yml"), json.writeValueAsString(file));

        CommandResult result = Promtool.check("", "check", "rules", rulesFile.toString());

        assertTrue(result.stdout().contains("SUCCESS: " + queries.size() + " rules found"), result.stdout());
    }
}
