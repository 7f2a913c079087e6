package org.lifeboat.agent.metrics;

import com.sun.management.UnixOperatingSystemMXBean;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The agent process under the names Prometheus' own process collector gives (client_golang and
 * client_java alike), so that the dashboards and alerts written for any exporter's process work here:
 * {@code process_resident_memory_bytes} and {@code process_virtual_memory_bytes} (VmRSS and VmSize of
 * /proc/self/status), {@code process_open_fds} and {@code process_max_fds}, and
 * {@code process_cpu_seconds_total}. Micrometer's own process meters name these otherwise (its CPU
 * time is in nanoseconds and is left out, see AgentMetrics); {@code process_start_time_seconds} comes
 * from Micrometer's UptimeMetrics under the conventional name already. Each is read at scrape time.
 */
public final class ProcessMetrics implements MeterBinder {

    private static final Path SELF_STATUS = Path.of("/proc/self/status");
    private static final double NANOSECONDS_PER_SECOND = 1e9;
    private static final long KIB = 1024;

    private final Path status;
    private final OperatingSystemMXBean system = ManagementFactory.getOperatingSystemMXBean();

    public ProcessMetrics() {
        this(SELF_STATUS);
    }

    /** @param status a file in the format of /proc/self/status */
    ProcessMetrics(Path status) {
        this.status = Objects.requireNonNull(status, "status");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Gauge.builder("process.resident.memory", () -> statusKib("VmRSS:"))
                .description("Resident memory size of the agent process")
                .baseUnit(BaseUnits.BYTES)
                .register(registry);
        Gauge.builder("process.virtual.memory", () -> statusKib("VmSize:"))
                .description("Virtual memory size of the agent process")
                .baseUnit(BaseUnits.BYTES)
                .register(registry);
        if (system instanceof UnixOperatingSystemMXBean unix) {
            Gauge.builder("process.open.fds", unix, UnixOperatingSystemMXBean::getOpenFileDescriptorCount)
                    .description("Open file descriptors of the agent process")
                    .register(registry);
            Gauge.builder("process.max.fds", unix, UnixOperatingSystemMXBean::getMaxFileDescriptorCount)
                    .description("The agent process's limit on open file descriptors")
                    .register(registry);
        }
        if (system instanceof com.sun.management.OperatingSystemMXBean cpu) {
            FunctionCounter.builder("process.cpu", cpu, bean -> bean.getProcessCpuTime() / NANOSECONDS_PER_SECOND)
                    .description("CPU time the agent process has used, user and system")
                    .baseUnit("seconds")
                    .register(registry);
        }
    }

    /** A "Name:   1234 kB" line of the status file in bytes; NaN when it cannot be read (Prometheus shows no value). */
    private double statusKib(String field) {
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith(field)) {
                    String[] parts = line.substring(field.length()).strip().split("\\s+");
                    return Long.parseLong(parts[0]) * KIB;
                }
            }
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }
}
