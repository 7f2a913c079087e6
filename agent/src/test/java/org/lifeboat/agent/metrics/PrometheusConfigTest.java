package org.lifeboat.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.testbed.Testbed;

/**
 * The shipped Prometheus files and the agent's scrape, checked by the real promtool: the example
 * configuration, the alert rules and their unit tests, and the exposition format with its lint.
 */
class PrometheusConfigTest {

    private static final Path PROMETHEUS = Testbed.locateRepository().resolve("config/prometheus");

    @Test
    void theExampleConfigurationIsValidAndFindsTheRules() {
        CommandResult result = Promtool.check("", "check", "config", PROMETHEUS.resolve("prometheus.yml").toString());

        assertTrue(result.stdout().contains("SUCCESS: 1 rule files found"), result.stdout());
    }

    @Test
    void theAlertRulesAreValid() {
        CommandResult result = Promtool.check("", "check", "rules", PROMETHEUS.resolve("lifeboat-rules.yml").toString());

        assertTrue(result.stdout().contains("SUCCESS: 13 rules found"), result.stdout());
    }

    @Test
    void theAlertRulesFireWhenTheyShouldAndOnlyThen() {
        Promtool.check("", "test", "rules", PROMETHEUS.resolve("lifeboat-rules.test.yml").toString());
    }

    @Test
    void aScrapeOfEveryAgentMeterPassesPromtoolsFormatCheckAndLint() {
        String scrape = AgentScrape.afterTwoMigrations().scrape();

        CommandResult result = Promtool.check(scrape, "check", "metrics");

        // promtool prints lint problems (non-base units, counters without _total, ...) and exits 0 with none.
        assertTrue(result.stdout().isBlank() && result.stderr().isBlank(), result.stdout() + result.stderr());
        assertTrue(scrape.contains("lifeboat_migration_phase_seconds_bucket{mode=\"diskless\",phase=\"dump\",le=\"1.0\"} 1"), scrape);
    }
}
