package org.lifeboat.predictor.detect;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.logging.Logger;
import org.lifeboat.predictor.Durations;
import org.lifeboat.predictor.Prediction;
import org.lifeboat.predictor.PredictionBook;
import org.lifeboat.predictor.PredictionSource;
import org.lifeboat.predictor.config.IpmiDetectorConfig;

/**
 * The second built-in local predictor: memory events in the BMC's System Event Log, which sees errors
 * the operating system may not (and keeps them across a crash). Each poll runs {@code ipmitool sel elist}
 * and looks at the records it has not seen before:
 *
 * <ul>
 *   <li>an uncorrectable ECC or parity error, or a memory device disabled: a prediction with confidence 1;</li>
 *   <li>"correctable ECC logging limit reached" or a failed scrub: a prediction with the configured confidence;</li>
 *   <li>at least {@code correctable-events-per-interval} "Correctable ECC" records: the same.</li>
 * </ul>
 *
 * The first successful read only takes the baseline; records already in the SEL are history. Without
 * ipmitool, or when it cannot reach the BMC, the detector logs that once and keeps trying each interval.
 */
public final class IpmiSelDetector {

    // Reading a long SEL from a slow BMC takes tens of seconds.
    static final Duration IPMITOOL_TIMEOUT = Duration.ofMinutes(2);
    private static final Logger LOG = Logger.getLogger(IpmiSelDetector.class.getName());
    private static final String KEY_PREFIX = "ipmi:";

    private final IpmiDetectorConfig config;
    private final String node;
    private final ToolRunner tools;
    private final PredictionBook book;
    private final Clock clock;
    private final ProblemLog problems = new ProblemLog(LOG, "IPMI SEL detector");
    private Set<String> seen;
    private Instant previousAt;

    public IpmiSelDetector(IpmiDetectorConfig config, String node, ToolRunner tools, PredictionBook book, Clock clock) {
        this.config = Objects.requireNonNull(config, "config");
        this.node = Objects.requireNonNull(node, "node");
        this.tools = Objects.requireNonNull(tools, "tools");
        this.book = Objects.requireNonNull(book, "book");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Reads the SEL once and submits a prediction for new memory trouble. Called every {@code interval}. */
    public synchronized void poll() {
        if (!Files.isExecutable(config.ipmitool())) {
            problems.problem(config.ipmitool() + " is not installed; the SEL is not watched");
            return;
        }
        List<String> command = List.of(config.ipmitool().toString(), "sel", "elist");
        ToolRunner.ToolOutput output;
        try {
            output = tools.run(command, IPMITOOL_TIMEOUT);
        } catch (IOException e) {
            problems.problem("cannot run " + String.join(" ", command) + ": " + e.getMessage());
            return;
        }
        if (output.exitCode() != 0) {
            problems.problem(String.join(" ", command) + " exited " + output.exitCode() + ": " + lastLine(output.stderr()));
            return;
        }
        problems.fine();
        List<SelEntry> entries = SelEntry.parse(output.stdout());
        Instant now = clock.instant();
        if (seen != null) {
            judge(entries.stream().filter(entry -> !seen.contains(entry.identity())).toList(), Duration.between(previousAt, now));
        }
        seen = new HashSet<>();
        entries.forEach(entry -> seen.add(entry.identity()));
        previousAt = now;
    }

    private void judge(List<SelEntry> newEntries, Duration elapsed) {
        SelEntry fatal = first(newEntries, SelEntry.MemoryEvent.FATAL);
        SelEntry warning = first(newEntries, SelEntry.MemoryEvent.WARNING);
        List<SelEntry> correctable = newEntries.stream()
                .filter(entry -> entry.memoryEvent() == SelEntry.MemoryEvent.CORRECTABLE).toList();
        if (fatal != null) {
            submit(1.0, describe(fatal));
        } else if (warning != null) {
            submit(config.confidence(), describe(warning));
        } else if (RateThreshold.reached(correctable.size(), config.correctableEventsPerInterval(), config.interval(), elapsed)) {
            submit(config.confidence(), correctable.size() + " correctable ECC record" + (correctable.size() == 1 ? "" : "s")
                    + " in " + Durations.format(elapsed) + ", latest " + describe(correctable.get(correctable.size() - 1)));
        }
    }

    private void submit(double confidence, String reason) {
        book.submit(Prediction.within(node, config.leadTime(), clock.instant(), confidence, PredictionSource.IPMI,
                "IPMI SEL: " + reason, KEY_PREFIX + node));
    }

    private static SelEntry first(List<SelEntry> entries, SelEntry.MemoryEvent kind) {
        return entries.stream().filter(entry -> entry.memoryEvent() == kind).findFirst().orElse(null);
    }

    private static String describe(SelEntry entry) {
        return entry.event() + " on " + entry.sensor() + " (record " + entry.recordId() + ")";
    }

    private static String lastLine(String text) {
        List<String> lines = text.strip().lines().toList();
        return lines.isEmpty() ? "no message" : lines.get(lines.size() - 1);
    }
}
