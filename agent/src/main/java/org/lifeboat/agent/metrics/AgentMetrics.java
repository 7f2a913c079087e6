package org.lifeboat.agent.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import java.util.List;
import java.util.Objects;

/**
 * The agent's own meters: which version runs on which node, plus cheap JVM and process basics.
 * Each label has one value per agent process, so the number of series stays fixed.
 */
public final class AgentMetrics implements MeterBinder {

    private final String version;
    private final String nodeName;

    public AgentMetrics(String version, String nodeName) {
        this.version = Objects.requireNonNull(version, "version");
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Objects.requireNonNull(registry, "registry");
        // The info-metric convention: a constant 1 whose labels carry the facts, joinable onto other series.
        Gauge.builder("lifeboat.agent.info", () -> 1)
                .description("Version of the Lifeboat agent and the node it runs on; always 1")
                .tag("version", version)
                .tag("node", nodeName)
                .register(registry);
        List.of(new ClassLoaderMetrics(), new JvmMemoryMetrics(), new ProcessorMetrics(), new UptimeMetrics())
                .forEach(binder -> binder.bindTo(registry));
    }
}
