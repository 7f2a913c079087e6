package org.lifeboat.agent.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The shipped Grafana dashboard (config/grafana/lifeboat.json) as tests see it: its PromQL queries. */
public final class GrafanaDashboard {

    public static final String FILE = "config/grafana/lifeboat.json";
    /** What Grafana puts in for the variables, as the tests resolve them: every agent, a one-hour window. */
    public static final Map<String, String> VARIABLES = Map.of(
            "instance", ".*", "window", "1h", "__range", "1h", "__rate_interval", "1m", "datasource", "prometheus");
    // Grafana's $name and ${name} forms.
    private static final Pattern LIFEBOAT_METRIC = Pattern.compile("\\blifeboat_\\w+");
    private static final Pattern VARIABLE = Pattern.compile("\\$(?:\\{(\\w+)}|(\\w+))");

    private final JsonNode dashboard;

    private GrafanaDashboard(JsonNode dashboard) {
        this.dashboard = dashboard;
    }

    public static GrafanaDashboard load(Path repository) throws IOException {
        return new GrafanaDashboard(new ObjectMapper().readTree(repository.resolve(FILE).toFile()));
    }

    public JsonNode json() {
        return dashboard;
    }

    /** Every panel's every target, in the dashboard's order. */
    public List<Query> queries() {
        List<Query> queries = new ArrayList<>();
        for (JsonNode panel : dashboard.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                queries.add(new Query(panel.path("title").asText(), target.path("refId").asText(), target.path("expr").asText()));
            }
        }
        return queries;
    }

    /** The agent metrics ({@code lifeboat_...}) the queries name, each once. */
    public Set<String> lifeboatMetrics() {
        Set<String> metrics = new TreeSet<>();
        for (Query query : queries()) {
            Matcher metric = LIFEBOAT_METRIC.matcher(query.expr());
            while (metric.find()) {
                metrics.add(metric.group());
            }
        }
        return metrics;
    }

    /**
     * The queries that return no finite value from this Prometheus, each with what was sent and what
     * came back: a panel that would show nothing.
     */
    public List<String> queriesWithoutData(RealPrometheus prometheus) {
        List<String> failures = new ArrayList<>();
        for (Query query : queries()) {
            String expression = query.resolve(VARIABLES);
            JsonNode result = prometheus.query(expression);
            boolean finite = false;
            for (JsonNode sample : result) {
                finite |= Double.isFinite(RealPrometheus.sampleValue(sample));
            }
            if (!finite) {
                failures.add(query + "\n  sent as " + expression + "\n  returned " + result);
            }
        }
        return failures;
    }

    /** The names of the dashboard's own template variables. */
    public List<String> templateVariables() {
        List<String> names = new ArrayList<>();
        dashboard.path("templating").path("list").forEach(variable -> names.add(variable.path("name").asText()));
        return names;
    }

    /** One query of a panel. */
    public record Query(String panel, String refId, String expr) {

        /** The variables the expression uses, without their $. */
        public List<String> variables() {
            List<String> names = new ArrayList<>();
            Matcher matcher = VARIABLE.matcher(expr);
            while (matcher.find()) {
                names.add(matcher.group(1) != null ? matcher.group(1) : matcher.group(2));
            }
            return names;
        }

        /** The expression as Grafana would send it, each variable replaced; an unknown variable fails. */
        public String resolve(Map<String, String> values) {
            Matcher matcher = VARIABLE.matcher(expr);
            StringBuilder resolved = new StringBuilder();
            while (matcher.find()) {
                String name = matcher.group(1) != null ? matcher.group(1) : matcher.group(2);
                String value = values.get(name);
                if (value == null) {
                    throw new AssertionError("panel '" + panel + "' uses $" + name + ", which the test does not know: " + expr);
                }
                matcher.appendReplacement(resolved, Matcher.quoteReplacement(value));
            }
            matcher.appendTail(resolved);
            return resolved.toString();
        }

        @Override
        public String toString() {
            return panel + " (" + refId + "): " + expr;
        }
    }
}
