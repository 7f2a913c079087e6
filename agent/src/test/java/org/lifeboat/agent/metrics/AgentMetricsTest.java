package org.lifeboat.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.junit.jupiter.api.Test;

class AgentMetricsTest {

    @Test
    void exposesAnInfoGaugeWithVersionAndNode() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

        new AgentMetrics("1.2.3", "node-7").bindTo(registry);

        assertTrue(registry.scrape().contains("lifeboat_agent_info{node=\"node-7\",version=\"1.2.3\"} 1"), registry.scrape());
    }

    @Test
    void exposesJvmAndProcessBasics() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

        new AgentMetrics("1.2.3", "node-7").bindTo(registry);

        String scrape = registry.scrape();
        for (String name : new String[] {"jvm_memory_used_bytes", "jvm_classes_loaded_classes", "process_cpu_usage",
                "process_uptime_seconds", "process_start_time_seconds", "process_resident_memory_bytes",
                "process_virtual_memory_bytes", "process_open_fds", "process_max_fds", "process_cpu_seconds_total"}) {
            assertTrue(scrape.contains(name), name + " missing from\n" + scrape);
        }
        // Named against Prometheus' rules (see AgentMetrics), so left out.
        assertFalse(scrape.contains("system_cpu_count"), scrape);
        assertFalse(scrape.contains("process_cpu_time"), scrape);
    }
}
