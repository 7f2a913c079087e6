package org.lifeboat.agent.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.lifeboat.predictor.Durations;

/**
 * Keys renamed since the last release. For one release a file may still use the old name: before the
 * file is bound, its value is moved to the new name (converted where the unit changed), and the loader
 * warns with what to write instead. Both names with different values is an error. An entry is
 * removed one release after it was added, and the old name is then an unknown key like any other.
 */
final class RenamedKeys {

    /** What a value written under the old name becomes under the new one. */
    enum Conversion {
        /** The same value, checked under the new name. */
        SAME(null, null),
        /** A whole number of milliseconds becomes a duration ({@code 1500} → {@code 1s500ms}). */
        MILLISECONDS_TO_DURATION(ChronoUnit.MILLIS, "milliseconds"),
        /** A whole number of seconds becomes a duration ({@code 60} → {@code 1m}). */
        SECONDS_TO_DURATION(ChronoUnit.SECONDS, "seconds");

        private final ChronoUnit unit;
        private final String unitName;

        Conversion(ChronoUnit unit, String unitName) {
            this.unit = unit;
            this.unitName = unitName;
        }

        JsonNode convert(String oldKey, JsonNode value) {
            if (unit == null || value.isNull()) {
                return value;
            }
            boolean wholeNumber = value.isIntegralNumber() && value.canConvertToLong()
                    || value.isTextual() && value.asText().matches("-?[0-9]{1,18}");
            if (!wholeNumber) {
                throw new InvalidConfigValueException(oldKey,
                        "must be a whole number of " + unitName + ", got '" + value.asText() + "'");
            }
            long amount = value.asLong();
            if (amount < 0) {
                throw new InvalidConfigValueException(oldKey, "must not be negative, got " + amount);
            }
            return TextNode.valueOf(Durations.format(Duration.of(amount, unit)));
        }

        /** Whether the value converted from the old key is the one the new key gives. */
        boolean same(JsonNode converted, JsonNode given) {
            if (unit == null || !converted.isTextual() || !given.isTextual()) {
                return converted.equals(given);
            }
            try {
                return Durations.parse(converted.asText()).equals(Durations.parse(given.asText()));
            } catch (IllegalArgumentException e) {
                return false;
            }
        }
    }

    /** One renamed key, both names dotted as in error messages. */
    record RenamedKey(String oldKey, String newKey, Conversion conversion) {}

    /** One old key a file used: what it was read as. */
    record Use(RenamedKey key, JsonNode value) {

        /** What the file should say instead, e.g. {@code drain-poll: 1s} in the section evacuation. */
        String replacement() {
            return key.newKey() + ": " + (value.isTextual() ? value.asText() : value.toString());
        }
    }

    static final List<RenamedKey> RENAMED = List.of(
            // One duration style: keys that carried their unit in the name take 500ms, 30s, 2m, 1h.
            new RenamedKey("evacuation.drain-poll-millis", "evacuation.drain-poll", Conversion.MILLISECONDS_TO_DURATION),
            new RenamedKey("evacuation.retry-pause-seconds", "evacuation.retry-pause", Conversion.SECONDS_TO_DURATION),
            new RenamedKey("http.request-timeout-seconds", "http.request-timeout", Conversion.SECONDS_TO_DURATION),
            // One knob: evacuation.concurrency is what the agent enforces (its evacuation threads, for drains
            // and predictions alike); the planner's own figure could only be wrong when it differed.
            new RenamedKey("predictor.planning.max-concurrent-migrations", "evacuation.concurrency", Conversion.SAME));

    private RenamedKeys() {}

    /**
     * Moves every old key in the document to its new name. Returns the old keys it found, in table order.
     *
     * @throws InvalidConfigValueException naming the old key: a value that cannot be converted, or the new
     *                                     key also given, with another value
     */
    static List<Use> apply(ObjectNode document) {
        List<Use> uses = new ArrayList<>();
        for (RenamedKey renamed : RENAMED) {
            ObjectNode oldSection = section(document, renamed.oldKey(), false);
            String oldName = lastPart(renamed.oldKey());
            if (oldSection == null || !oldSection.has(oldName)) {
                continue;
            }
            JsonNode value = renamed.conversion().convert(renamed.oldKey(), oldSection.get(oldName));
            ObjectNode newSection = section(document, renamed.newKey(), true);
            if (newSection == null) {
                // The new key's section is not a section; binding says so, under the new name.
                continue;
            }
            String newName = lastPart(renamed.newKey());
            JsonNode given = newSection.get(newName);
            if (given != null && !given.isNull() && !renamed.conversion().same(value, given)) {
                throw new InvalidConfigValueException(renamed.oldKey(), "is the old name of " + renamed.newKey()
                        + ", which is set too, to another value (" + given.asText() + "): keep " + renamed.newKey() + " only");
            }
            oldSection.remove(oldName);
            newSection.set(newName, value);
            uses.add(new Use(renamed, value));
        }
        return uses;
    }

    /** The section holding a dotted key; created along the way when asked to; null where a part is not a section. */
    private static ObjectNode section(ObjectNode document, String dottedKey, boolean create) {
        List<String> parts = Arrays.asList(dottedKey.split("\\."));
        ObjectNode section = document;
        for (String part : parts.subList(0, parts.size() - 1)) {
            JsonNode child = section.get(part);
            if (child == null || child.isNull()) {
                if (!create) {
                    return null;
                }
                child = section.putObject(part);
            }
            if (!child.isObject()) {
                return null;
            }
            section = (ObjectNode) child;
        }
        return section;
    }

    private static String lastPart(String dottedKey) {
        return dottedKey.substring(dottedKey.lastIndexOf('.') + 1);
    }
}
