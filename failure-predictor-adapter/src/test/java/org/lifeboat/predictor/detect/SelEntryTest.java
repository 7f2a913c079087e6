package org.lifeboat.predictor.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lifeboat.predictor.detect.SelEntry.MemoryEvent;

class SelEntryTest {

    /** Output of {@code ipmitool sel elist} written after ipmitool's own format (ipmi_sel_print_std_entry). */
    static String sample(String name) throws IOException {
        try (InputStream in = SelEntryTest.class.getResourceAsStream("/ipmitool/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void readsStandardRecordsAndSkipsOemOnes() throws IOException {
        List<SelEntry> entries = SelEntry.parse(sample("sel-elist-baseline.txt"));

        assertEquals(List.of("1", "2", "3", "4", "5", "7", "8", "9"), entries.stream().map(SelEntry::recordId).toList());
        SelEntry preInit = entries.get(2);
        assertEquals("Memory DIMM_A1", preInit.sensor());
        assertEquals("Correctable ECC", preInit.event());
        assertEquals(true, preInit.asserted());
        assertEquals("3 |  Pre-Init  |0000000123| Memory DIMM_A1 | Correctable ECC | Asserted", preInit.identity());
    }

    @Test
    void classifiesMemoryEvents() throws IOException {
        List<MemoryEvent> kinds = SelEntry.parse(sample("sel-elist-baseline.txt")).stream().map(SelEntry::memoryEvent).toList();

        // Logging cleared, clock sync, Pre-Init ECC, power supply, ECC without a sensor name, temperature,
        // a deasserted ECC, and an ECC text on another sensor type.
        assertEquals(List.of(MemoryEvent.NONE, MemoryEvent.NONE, MemoryEvent.CORRECTABLE, MemoryEvent.NONE,
                MemoryEvent.CORRECTABLE, MemoryEvent.NONE, MemoryEvent.NONE, MemoryEvent.NONE), kinds);
    }

    @Test
    void tellsFatalFromWarningFromCorrectable() {
        String line = "  1a | 03/01/2026 | 12:00:30 | Memory DIMM_B2 | %s | Asserted";
        assertEquals(MemoryEvent.FATAL, SelEntry.parse(line.formatted("Uncorrectable ECC")).get(0).memoryEvent());
        assertEquals(MemoryEvent.FATAL, SelEntry.parse(line.formatted("Parity")).get(0).memoryEvent());
        assertEquals(MemoryEvent.FATAL, SelEntry.parse(line.formatted("Memory Device Disabled")).get(0).memoryEvent());
        assertEquals(MemoryEvent.WARNING, SelEntry.parse(line.formatted("Correctable ECC logging limit reached")).get(0).memoryEvent());
        assertEquals(MemoryEvent.WARNING, SelEntry.parse(line.formatted("Memory Scrub Failed")).get(0).memoryEvent());
        assertEquals(MemoryEvent.CORRECTABLE, SelEntry.parse(line.formatted("Correctable ECC")).get(0).memoryEvent());
        assertEquals(MemoryEvent.NONE, SelEntry.parse(line.formatted("Presence Detected")).get(0).memoryEvent());
        assertEquals("1a", SelEntry.parse(line.formatted("Spare")).get(0).recordId());
    }

    @Test
    void ignoresWhatIsNotARecord() {
        assertEquals(List.of(), SelEntry.parse(""));
        assertEquals(List.of(), SelEntry.parse("SEL has no entries\n"));
        assertEquals(List.of(), SelEntry.parse("zz | a | b | Memory | Correctable ECC | Asserted"));
        assertEquals(List.of(), SelEntry.parse(" 12 | a | b | Memory | Correctable ECC | Maybe"));
    }
}
