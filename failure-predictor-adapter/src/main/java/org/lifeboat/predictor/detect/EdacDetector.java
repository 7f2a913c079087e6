package org.lifeboat.predictor.detect;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.logging.Logger;
import org.lifeboat.predictor.Durations;
import org.lifeboat.predictor.Prediction;
import org.lifeboat.predictor.PredictionBook;
import org.lifeboat.predictor.PredictionSource;
import org.lifeboat.predictor.config.EdacDetectorConfig;

/**
 * The built-in local predictor: correctable memory errors counted by the kernel's EDAC drivers. A DIMM
 * that starts correcting errors at a growing rate is the classic forerunner of an uncorrectable error,
 * which takes the node down. Each poll compares the counters with the previous poll:
 *
 * <ul>
 *   <li>at least {@code correctable-errors-per-interval} new correctable errors: a prediction with the
 *       configured lead time and confidence;</li>
 *   <li>any new uncorrectable error the node survived: a prediction with confidence 1.</li>
 * </ul>
 *
 * The first poll only takes the baseline: errors counted before the agent started are old news. A
 * counter that went down (the driver was reloaded) restarts from zero. The detector never withdraws
 * its prediction; an administrator does, after replacing the part ({@code lifeboat predict NODE --cancel}).
 */
public final class EdacDetector {

    private static final Logger LOG = Logger.getLogger(EdacDetector.class.getName());
    // The node's own errors are one underlying warning, however many polls see them.
    private static final String KEY_PREFIX = "edac:";
    private static final int DIMMS_NAMED = 3;

    private final EdacDetectorConfig config;
    private final String node;
    private final PredictionBook book;
    private final Clock clock;
    private final ProblemLog problems = new ProblemLog(LOG, "EDAC detector");
    private EdacCounters previous;
    private Instant previousAt;

    public EdacDetector(EdacDetectorConfig config, String node, PredictionBook book, Clock clock) {
        this.config = Objects.requireNonNull(config, "config");
        this.node = Objects.requireNonNull(node, "node");
        this.book = Objects.requireNonNull(book, "book");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Reads the counters once and submits a prediction if they rose too fast. Called every {@code interval}. */
    public synchronized void poll() {
        if (!Files.isDirectory(config.sysfsRoot())) {
            problems.problem("no EDAC memory controllers at " + config.sysfsRoot() + " (no EDAC driver loaded?); nothing to watch");
            return;
        }
        EdacCounters current;
        try {
            current = EdacCounters.read(config.sysfsRoot());
        } catch (NoSuchFileException e) {
            problems.problem("cannot read EDAC counters: " + e.getFile() + " does not exist");
            return;
        } catch (IOException e) {
            problems.problem("cannot read EDAC counters: " + e.getMessage());
            return;
        }
        if (current.controllers().isEmpty()) {
            problems.problem("no memory controller (mc0, mc1, …) under " + config.sysfsRoot() + "; nothing to watch");
            return;
        }
        problems.fine();
        Instant now = clock.instant();
        if (previous != null) {
            compare(previous, current, Duration.between(previousAt, now));
        }
        previous = current;
        previousAt = now;
    }

    private void compare(EdacCounters before, EdacCounters after, Duration elapsed) {
        long correctable = 0;
        long uncorrectable = 0;
        for (Map.Entry<String, EdacCounters.Counts> controller : after.controllers().entrySet()) {
            EdacCounters.Counts earlier = before.controllers().get(controller.getKey());
            correctable += increase(earlier == null ? 0 : earlier.correctable(), controller.getValue().correctable());
            uncorrectable += increase(earlier == null ? 0 : earlier.uncorrectable(), controller.getValue().uncorrectable());
        }
        String where = dimmsWithNewErrors(before, after);
        if (uncorrectable > 0) {
            submit(1.0, uncorrectable + " uncorrectable memory error" + (uncorrectable == 1 ? "" : "s")
                    + " in " + Durations.format(elapsed) + where);
        } else if (RateThreshold.reached(correctable, config.correctableErrorsPerInterval(), config.interval(), elapsed)) {
            submit(config.confidence(), correctable + " correctable memory errors in " + Durations.format(elapsed)
                    + " (threshold " + config.correctableErrorsPerInterval() + " per " + Durations.format(config.interval()) + ")"
                    + where);
        }
    }

    private void submit(double confidence, String reason) {
        book.submit(Prediction.within(node, config.leadTime(), clock.instant(), confidence, PredictionSource.EDAC,
                "EDAC: " + reason, KEY_PREFIX + node));
    }

    /** The DIMMs whose own counters rose most, named by label: the part to replace. */
    private static String dimmsWithNewErrors(EdacCounters before, EdacCounters after) {
        List<String> named = new ArrayList<>();
        after.dimms().entrySet().stream()
                .map(dimm -> Map.entry(dimm, increase(before.dimms().containsKey(dimm.getKey())
                        ? before.dimms().get(dimm.getKey()).correctable() : 0, dimm.getValue().correctable())))
                .filter(entry -> entry.getValue() > 0)
                .sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
                .limit(DIMMS_NAMED)
                .forEach(entry -> {
                    String label = entry.getKey().getValue().label();
                    named.add((label.isEmpty() ? entry.getKey().getKey() : label) + " +" + entry.getValue());
                });
        return named.isEmpty() ? "" : " on " + String.join(", ", named);
    }

    /** New errors between two readings; a counter that went down was reset, so all it holds now is new. */
    private static long increase(long before, long after) {
        return after >= before ? after - before : after;
    }
}
