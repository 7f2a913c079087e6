package org.lifeboat.agent.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Objects;
import java.util.function.Supplier;
import org.lifeboat.agent.health.Dependency;
import org.lifeboat.agent.health.HealthReport;

/**
 * {@code lifeboat_dependency_ready{dependency="criu|munge|slurm|checkpoint-directory"}}: 1 while the
 * dependency monitor's last round found the dependency ready, else 0, the same answer /health gives.
 * A scrape reads the last round and runs no check.
 */
public final class DependencyMetrics implements MeterBinder {

    static final String READY = "lifeboat.dependency.ready";

    private final Supplier<HealthReport> health;

    public DependencyMetrics(Supplier<HealthReport> health) {
        this.health = Objects.requireNonNull(health, "health");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        for (Dependency dependency : Dependency.values()) {
            Gauge.builder(READY, () -> health.get().state(dependency).ready() ? 1 : 0)
                    .description("1 if the agent's last check found this dependency ready (as /health reports it), else 0")
                    .tag("dependency", dependency.label())
                    .register(registry);
        }
    }
}
