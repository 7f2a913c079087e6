package org.lifeboat.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcessMetricsTest {

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    @TempDir
    Path directory;

    @Test
    void memoryIsReadFromTheStatusFileInBytes() throws Exception {
        Path status = Files.writeString(directory.resolve("status"),
                "Name:\tjava\nVmPeak:\t 9000000 kB\nVmSize:\t 8000000 kB\nVmRSS:\t  123456 kB\nThreads:\t42\n");
        new ProcessMetrics(status).bindTo(registry);

        assertEquals(123456.0 * 1024, registry.get("process.resident.memory").gauge().value());
        assertEquals(8000000.0 * 1024, registry.get("process.virtual.memory").gauge().value());
    }

    @Test
    void aStatusFileThatCannotBeReadGivesNoValueRatherThanAWrongOne() {
        new ProcessMetrics(directory.resolve("gone")).bindTo(registry);

        assertTrue(Double.isNaN(registry.get("process.resident.memory").gauge().value()));
    }

    @Test
    void theAgentsOwnProcessHasPrometheusConventionalNamesAndValues() {
        new ProcessMetrics().bindTo(registry);

        String scrape = registry.scrape();

        assertTrue(value(scrape, "process_resident_memory_bytes") > 1 << 20, scrape);
        assertTrue(value(scrape, "process_virtual_memory_bytes") >= value(scrape, "process_resident_memory_bytes"), scrape);
        assertTrue(value(scrape, "process_open_fds") > 2, scrape);
        assertTrue(value(scrape, "process_max_fds") >= value(scrape, "process_open_fds"), scrape);
        assertTrue(value(scrape, "process_cpu_seconds_total") > 0, scrape);
        assertTrue(scrape.contains("# TYPE process_cpu_seconds_total counter"), scrape);
    }

    private static double value(String scrape, String name) {
        Matcher sample = Pattern.compile("(?m)^" + name + " (\\S+)$").matcher(scrape);
        assertTrue(sample.find(), name + " missing from\n" + scrape);
        return Double.parseDouble(sample.group(1));
    }
}
