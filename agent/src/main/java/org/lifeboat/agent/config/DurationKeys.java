package org.lifeboat.agent.config;

import java.time.Duration;
import org.lifeboat.predictor.Durations;

/** The agent's duration keys, written as the predictor's are: 500ms, 30s, 2m, 1h or 1h30m (see {@link Durations}). */
final class DurationKeys {

    static final String EXAMPLES = "500ms, 30s, 2m or 1h";

    private DurationKeys() {}

    /** The value of {@code key}, or {@code defaultValue} when the file leaves it out. */
    static Duration read(String key, String value, Duration defaultValue, Duration smallest) {
        if (value == null) {
            return defaultValue;
        }
        Duration duration;
        try {
            duration = Durations.parse(value);
        } catch (IllegalArgumentException e) {
            throw new InvalidConfigValueException(key, "must be a duration such as " + EXAMPLES + ", got '" + value + "'");
        }
        if (duration.compareTo(smallest) < 0) {
            throw new InvalidConfigValueException(key, "must be at least " + Durations.format(smallest) + ", got '" + value + "'");
        }
        return duration;
    }
}
