package org.lifeboat.predictor.config;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import org.lifeboat.predictor.Durations;

/** The checks every section shares; each names the full dotted key in its message. */
final class ConfigValues {

    static final String PREFIX = "predictor.";

    private ConfigValues() {}

    static double confidence(String key, Double value, double defaultValue) {
        double confidence = value == null ? defaultValue : value;
        if (!(confidence >= 0 && confidence <= 1)) {
            throw new InvalidPredictorConfigException(PREFIX + key, "must be between 0 and 1, got " + value);
        }
        return confidence;
    }

    static Duration duration(String key, String value, Duration defaultValue, Duration smallest) {
        Duration duration;
        try {
            duration = value == null ? defaultValue : Durations.parse(value);
        } catch (IllegalArgumentException e) {
            throw new InvalidPredictorConfigException(PREFIX + key, "must be a duration: " + e.getMessage());
        }
        if (duration.compareTo(smallest) < 0) {
            throw new InvalidPredictorConfigException(PREFIX + key, "must be at least " + Durations.format(smallest) + ", got " + value);
        }
        return duration;
    }

    static long positive(String key, Long value, long defaultValue) {
        long number = value == null ? defaultValue : value;
        if (number < 1) {
            throw new InvalidPredictorConfigException(PREFIX + key, "must be at least 1, got " + value);
        }
        return number;
    }

    static Path absolutePath(String key, String value, String defaultValue) {
        String text = value == null ? defaultValue : value;
        Path path;
        try {
            path = Path.of(text);
        } catch (InvalidPathException e) {
            throw new InvalidPredictorConfigException(PREFIX + key, "is not a valid path: " + e.getMessage());
        }
        if (!path.isAbsolute()) {
            throw new InvalidPredictorConfigException(PREFIX + key, "must be an absolute path, got '" + text + "'");
        }
        return path;
    }
}
