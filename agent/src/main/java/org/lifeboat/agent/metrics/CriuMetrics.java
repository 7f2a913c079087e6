package org.lifeboat.agent.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.lifeboat.agent.criu.CriuCapabilities;

/**
 * What the agent found of CRIU when it started: {@code lifeboat_criu_usable} (1 when CRIU ran and
 * `criu check` passed, else 0: no migration from or to this node can work, the "CRIU missing"
 * alert), and, when CRIU ran, its version as an info metric and each optional feature as 0 or 1.
 */
public final class CriuMetrics implements MeterBinder {

    private final Optional<CriuCapabilities> capabilities;

    /** @param capabilities the probe's result; empty when CRIU could not be run at all */
    public CriuMetrics(Optional<CriuCapabilities> capabilities) {
        this.capabilities = Objects.requireNonNull(capabilities, "capabilities");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        boolean usable = capabilities.map(CriuCapabilities::checkPassed).orElse(false);
        Gauge.builder("lifeboat.criu.usable", () -> usable ? 1 : 0)
                .description("1 if CRIU ran and `criu check` passed when the agent started, else 0: migrations cannot work")
                .register(registry);
        capabilities.ifPresent(found -> {
            Gauge.builder("lifeboat.criu.info", () -> 1)
                    .description("The CRIU version the agent found at start; always 1")
                    .tag("version", found.version())
                    .register(registry);
            for (Map.Entry<String, Boolean> feature : found.features().entrySet()) {
                boolean present = feature.getValue();
                Gauge.builder("lifeboat.criu.feature", () -> present ? 1 : 0)
                        .description("1 if CRIU has this optional feature (memory-tracking, lazy-pages, ...), else 0")
                        .tag("feature", feature.getKey())
                        .register(registry);
            }
        });
    }
}
