package org.lifeboat.predictor.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The {@code predictor.ipmi:} section: memory events in the BMC's System Event Log, read with
 * {@code ipmitool sel elist} when ipmitool is installed.
 *
 * @param enabled                      whether to poll at all; without ipmitool the detector only logs that once
 * @param ipmitool                     the ipmitool binary
 * @param interval                     how often the SEL is read (each read talks to the BMC, which is slow)
 * @param correctableEventsPerInterval this many new "Correctable ECC" entries within one interval is a prediction;
 *                                     an uncorrectable error, a disabled memory device or a reached logging
 *                                     limit always is
 * @param leadTime                     the time the prediction gives the node
 * @param confidence                   the prediction's confidence
 */
public record IpmiDetectorConfig(boolean enabled, Path ipmitool, Duration interval, long correctableEventsPerInterval,
                                 Duration leadTime, double confidence) {

    static final String DEFAULT_IPMITOOL = "/usr/bin/ipmitool";
    static final Duration DEFAULT_INTERVAL = Duration.ofMinutes(5);
    // BMCs log a correctable-ECC entry only after their own threshold of errors, so one entry already means many.
    static final long DEFAULT_CORRECTABLE_EVENTS_PER_INTERVAL = 1;
    static final Duration DEFAULT_LEAD_TIME = Duration.ofMinutes(30);
    static final double DEFAULT_CONFIDENCE = 0.9;

    @JsonCreator
    public static IpmiDetectorConfig fromFile(
            @JsonProperty("enabled") Boolean enabled,
            @JsonProperty("ipmitool") String ipmitool,
            @JsonProperty("interval") String interval,
            @JsonProperty("correctable-events-per-interval") Long correctableEventsPerInterval,
            @JsonProperty("lead-time") String leadTime,
            @JsonProperty("confidence") Double confidence) {
        return new IpmiDetectorConfig(
                enabled == null || enabled,
                ConfigValues.absolutePath("ipmi.ipmitool", ipmitool, DEFAULT_IPMITOOL),
                ConfigValues.duration("ipmi.interval", interval, DEFAULT_INTERVAL, Duration.ofSeconds(10)),
                ConfigValues.positive("ipmi.correctable-events-per-interval", correctableEventsPerInterval,
                        DEFAULT_CORRECTABLE_EVENTS_PER_INTERVAL),
                ConfigValues.duration("ipmi.lead-time", leadTime, DEFAULT_LEAD_TIME, Duration.ZERO),
                ConfigValues.confidence("ipmi.confidence", confidence, DEFAULT_CONFIDENCE));
    }

    public static IpmiDetectorConfig defaults() {
        return fromFile(null, null, null, null, null, null);
    }
}
