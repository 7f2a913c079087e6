package org.lifeboat.predictor;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations written the way Prometheus and Alertmanager write them ({@code 90s}, {@code 5m}, {@code 1h30m}):
 * the form operators already use in alert rules, annotations and Alertmanager's own configuration.
 */
public final class Durations {

    // Prometheus's own grammar: one or more number-unit pairs, largest unit first, each unit at most once.
    private static final Pattern WHOLE = Pattern.compile("(?:\\d+y)?(?:\\d+w)?(?:\\d+d)?(?:\\d+h)?(?:\\d+m)?(?:\\d+s)?(?:\\d+ms)?");
    private static final Pattern PART = Pattern.compile("(\\d+)(ms|y|w|d|h|m|s)");
    // Far beyond any lead time, and small enough that no sum of parts overflows.
    private static final Duration LONGEST = Duration.ofDays(10 * 365);

    private Durations() {}

    /** Parses a Prometheus duration; throws {@link IllegalArgumentException} with a message fit for a 4xx reply or a config error. */
    public static Duration parse(String text) {
        if (text == null || text.isEmpty() || text.length() > 40 || !WHOLE.matcher(text).matches()) {
            throw new IllegalArgumentException("'" + abbreviate(text) + "' is not a duration like 90s, 5m or 1h30m");
        }
        Duration total = Duration.ZERO;
        Matcher part = PART.matcher(text);
        while (part.find()) {
            Duration unit = unit(part.group(2));
            // At most 40 characters, so a number that does not fit in a long is far too long anyway.
            String digits = part.group(1);
            if (digits.length() > 18 || Long.parseLong(digits) > LONGEST.dividedBy(unit)) {
                throw new IllegalArgumentException("'" + text + "' is longer than " + format(LONGEST));
            }
            total = total.plus(unit.multipliedBy(Long.parseLong(digits)));
            if (total.compareTo(LONGEST) > 0) {
                throw new IllegalArgumentException("'" + text + "' is longer than " + format(LONGEST));
            }
        }
        return total;
    }

    /** The shortest Prometheus form of a duration, e.g. {@code 1h30m}; {@code 0s} for zero. */
    public static String format(Duration duration) {
        if (duration.isZero()) {
            return "0s";
        }
        StringBuilder text = new StringBuilder();
        long millis = duration.toMillis();
        long[] sizes = {86_400_000L, 3_600_000L, 60_000L, 1_000L, 1L};
        String[] units = {"d", "h", "m", "s", "ms"};
        for (int i = 0; i < sizes.length; i++) {
            if (millis >= sizes[i]) {
                text.append(millis / sizes[i]).append(units[i]);
                millis %= sizes[i];
            }
        }
        return text.toString();
    }

    private static Duration unit(String unit) {
        return switch (unit) {
            case "ms" -> Duration.ofMillis(1);
            case "s" -> Duration.ofSeconds(1);
            case "m" -> Duration.ofMinutes(1);
            case "h" -> Duration.ofHours(1);
            case "d" -> Duration.ofDays(1);
            case "w" -> Duration.ofDays(7);
            case "y" -> Duration.ofDays(365);
            default -> throw new IllegalStateException("the pattern admits no unit " + unit);
        };
    }

    private static String abbreviate(String text) {
        if (text == null) {
            return "";
        }
        return text.length() <= 40 ? text : text.substring(0, 40) + "…";
    }
}
