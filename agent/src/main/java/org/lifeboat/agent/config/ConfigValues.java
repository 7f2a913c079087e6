package org.lifeboat.agent.config;

/** The checks the config sections share, each failing with the key the administrator wrote. */
final class ConfigValues {

    private ConfigValues() {}

    /** The value, if it is at least the minimum. */
    static long requireAtLeast(String key, long value, long minimum) {
        if (value < minimum) {
            throw new InvalidConfigValueException(key, "must be at least " + minimum + ", got " + value);
        }
        return value;
    }
}
