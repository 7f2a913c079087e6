package org.lifeboat.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.criu.CriuCapabilities;

class CriuMetricsTest {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    @Test
    void aWorkingCriuIsUsableWithItsVersionAndEachFeature() {
        new CriuMetrics(Optional.of(new CriuCapabilities("4.2.1", true,
                Map.of("memory-tracking", false, "lazy-pages", true)))).bindTo(registry);

        assertEquals(1, registry.get("lifeboat.criu.usable").gauge().value());
        assertEquals(1, registry.get("lifeboat.criu.info").tag("version", "4.2.1").gauge().value());
        assertEquals(0, registry.get("lifeboat.criu.feature").tag("feature", "memory-tracking").gauge().value());
        assertEquals(1, registry.get("lifeboat.criu.feature").tag("feature", "lazy-pages").gauge().value());
    }

    @Test
    void aCriuWhoseCheckFailsIsNotUsableButItsVersionIsShown() {
        new CriuMetrics(Optional.of(new CriuCapabilities("3.17", false, Map.of()))).bindTo(registry);

        assertEquals(0, registry.get("lifeboat.criu.usable").gauge().value());
        assertEquals(1, registry.get("lifeboat.criu.info").tag("version", "3.17").gauge().value());
    }

    @Test
    void noCriuAtAllIsNotUsableAndHasNoVersion() {
        new CriuMetrics(Optional.empty()).bindTo(registry);

        assertEquals(0, registry.get("lifeboat.criu.usable").gauge().value());
        assertNull(registry.find("lifeboat.criu.info").gauge());
        assertNull(registry.find("lifeboat.criu.feature").gauge());
    }
}
