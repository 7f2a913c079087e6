package org.lifeboat.predictor.detect;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One line of {@code ipmitool sel elist}. ipmitool prints a standard record as
 * {@code "%4x | date | time | <sensor type> <sensor name or #0xNN> | <event> | Asserted|Deasserted[ | extra]"}
 * (a record from before the BMC's clock was set has {@code Pre-Init} and a raw counter instead of date and
 * time); OEM and kernel-panic records have other shapes and are not memory events.
 *
 * @param recordId the SEL record id as printed (hex)
 * @param identity the whole line: record ids start again from 1 after the SEL is cleared, so only the id
 *                 together with the time and the event tells a record seen before from a new one
 * @param sensor   sensor type and name, e.g. {@code Memory DIMM_A1} or {@code Memory #0x53}
 * @param event    the event's description, e.g. {@code Correctable ECC}
 * @param asserted whether the event was asserted (rather than deasserted)
 */
record SelEntry(String recordId, String identity, String sensor, String event, boolean asserted) {

    /** What a memory event means for the node. */
    enum MemoryEvent {
        /** Not a memory event, or one that says nothing about failure (presence, spare, throttling). */
        NONE,
        /** One correctable error logged: counted against the per-interval threshold. */
        CORRECTABLE,
        /** A warning on its own: the BMC stopped logging correctable errors, or scrubbing failed. */
        WARNING,
        /** An error the hardware could not correct, or a module switched off: failure is near. */
        FATAL
    }

    /** Parses the whole output; lines that are not standard records are skipped. */
    static List<SelEntry> parse(String elistOutput) {
        List<SelEntry> entries = new ArrayList<>();
        for (String line : elistOutput.split("\n")) {
            String[] fields = line.split("\\|", -1);
            if (fields.length < 6) {
                continue;
            }
            String direction = fields[5].strip();
            if (!direction.equals("Asserted") && !direction.equals("Deasserted")) {
                continue;
            }
            String recordId = fields[0].strip();
            if (recordId.isEmpty() || !recordId.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                continue;
            }
            entries.add(new SelEntry(recordId.toLowerCase(Locale.ROOT), line.strip(), fields[3].strip(), fields[4].strip(),
                    direction.equals("Asserted")));
        }
        return entries;
    }

    MemoryEvent memoryEvent() {
        if (!asserted || !(sensor.equals("Memory") || sensor.startsWith("Memory "))) {
            return MemoryEvent.NONE;
        }
        String description = event.toLowerCase(Locale.ROOT);
        if (description.startsWith("uncorrectable ecc") || description.startsWith("parity")
                || description.startsWith("memory device disabled")) {
            return MemoryEvent.FATAL;
        }
        if (description.startsWith("correctable ecc logging limit") || description.startsWith("memory scrub failed")) {
            return MemoryEvent.WARNING;
        }
        if (description.startsWith("correctable ecc")) {
            return MemoryEvent.CORRECTABLE;
        }
        return MemoryEvent.NONE;
    }
}
