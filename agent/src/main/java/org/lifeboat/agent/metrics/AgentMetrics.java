package org.lifeboat.agent.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import java.util.List;
import java.util.Set;
import java.util.Objects;

/**
 * The agent's own meters: which version runs on which node, plus cheap JVM and process basics (the
 * process under Prometheus' conventional names: see ProcessMetrics). Each label has one value per
 * agent process, so the number of series stays fixed.
 */
public final class AgentMetrics implements MeterBinder {

    private static final Set<String> NON_CONFORMING = Set.of("system.cpu.count", "process.cpu.time");

    private final String version;
    private final String nodeName;

    public AgentMetrics(String version, String nodeName) {
        this.version = Objects.requireNonNull(version, "version");
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Objects.requireNonNull(registry, "registry");
        // Two of ProcessorMetrics' meters break Prometheus' naming rules (promtool check metrics says so):
        // system_cpu_count ends in _count like a histogram's series, process_cpu_time_ns_total is not in
        // seconds. Neither is worth a scraper's confusion; the CPU usage gauges stay. The filter comes before any
        // meter: Micrometer applies filters only to meters registered after them (and warns otherwise).
        registry.config().meterFilter(MeterFilter.deny(id -> NON_CONFORMING.contains(id.getName())));
        // The info-metric convention: a constant 1 whose labels carry the facts, joinable onto other series.
        Gauge.builder("lifeboat.agent.info", () -> 1)
                .description("Version of the Lifeboat agent and the node it runs on; always 1")
                .tag("version", version)
                .tag("node", nodeName)
                .register(registry);
        List.of(new ClassLoaderMetrics(), new JvmMemoryMetrics(), new ProcessorMetrics(), new UptimeMetrics(), new ProcessMetrics())
                .forEach(binder -> binder.bindTo(registry));
    }
}
