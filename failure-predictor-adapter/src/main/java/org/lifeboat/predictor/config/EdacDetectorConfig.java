package org.lifeboat.predictor.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The {@code predictor.edac:} section: the built-in detector of correctable memory errors, read from
 * the kernel's EDAC counters.
 *
 * @param enabled                       whether to poll at all (a node without EDAC drivers just logs that once)
 * @param sysfsRoot                     the directory holding {@code mc0}, {@code mc1}, … (tests point it at a fake tree)
 * @param interval                      how often the counters are read
 * @param correctableErrorsPerInterval  this many new correctable errors within one interval is a prediction
 * @param leadTime                      the time the prediction gives the node
 * @param confidence                    the prediction's confidence
 */
public record EdacDetectorConfig(boolean enabled, Path sysfsRoot, Duration interval, long correctableErrorsPerInterval,
                                 Duration leadTime, double confidence) {

    static final String DEFAULT_SYSFS_ROOT = "/sys/devices/system/edac/mc";
    static final Duration DEFAULT_INTERVAL = Duration.ofMinutes(1);
    // A healthy DIMM shows a handful of correctable errors a day; ten a minute is a part going bad.
    static final long DEFAULT_CORRECTABLE_ERRORS_PER_INTERVAL = 10;
    static final Duration DEFAULT_LEAD_TIME = Duration.ofMinutes(30);
    static final double DEFAULT_CONFIDENCE = 0.9;

    @JsonCreator
    public static EdacDetectorConfig fromFile(
            @JsonProperty("enabled") Boolean enabled,
            @JsonProperty("sysfs-root") String sysfsRoot,
            @JsonProperty("interval") String interval,
            @JsonProperty("correctable-errors-per-interval") Long correctableErrorsPerInterval,
            @JsonProperty("lead-time") String leadTime,
            @JsonProperty("confidence") Double confidence) {
        return new EdacDetectorConfig(
                enabled == null || enabled,
                ConfigValues.absolutePath("edac.sysfs-root", sysfsRoot, DEFAULT_SYSFS_ROOT),
                ConfigValues.duration("edac.interval", interval, DEFAULT_INTERVAL, Duration.ofSeconds(1)),
                ConfigValues.positive("edac.correctable-errors-per-interval", correctableErrorsPerInterval,
                        DEFAULT_CORRECTABLE_ERRORS_PER_INTERVAL),
                ConfigValues.duration("edac.lead-time", leadTime, DEFAULT_LEAD_TIME, Duration.ZERO),
                ConfigValues.confidence("edac.confidence", confidence, DEFAULT_CONFIDENCE));
    }

    public static EdacDetectorConfig defaults() {
        return fromFile(null, null, null, null, null, null);
    }
}
