package org.lifeboat.predictor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {

    @Test
    void readsPrometheusDurations() {
        assertEquals(Duration.ofSeconds(90), Durations.parse("90s"));
        assertEquals(Duration.ofMinutes(5), Durations.parse("5m"));
        assertEquals(Duration.ofMinutes(90), Durations.parse("1h30m"));
        assertEquals(Duration.ofMillis(1500), Durations.parse("1s500ms"));
        assertEquals(Duration.ofDays(9), Durations.parse("1w2d"));
        assertEquals(Duration.ofDays(365), Durations.parse("1y"));
        assertEquals(Duration.ZERO, Durations.parse("0s"));
    }

    @Test
    void refusesAnythingElseWithAMessageThatShowsTheForm() {
        for (String text : new String[] {"", "5", "m", "5 m", "-5m", "5M", "30m1h", "5m5m", "PT5M", "1.5h", "5mm"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Durations.parse(text), text);
            assertTrue(e.getMessage().contains("like 90s, 5m or 1h30m"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Durations.parse(null));
    }

    @Test
    void refusesDurationsBeyondTenYearsWithoutOverflowing() {
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("11y"));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("99999999999999999999y"));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("9223372036854775807ms"));
        assertThrows(IllegalArgumentException.class, () -> Durations.parse("9y53w"));
    }

    @Test
    void formatsTheShortestForm() {
        assertEquals("0s", Durations.format(Duration.ZERO));
        assertEquals("1h30m", Durations.format(Duration.ofMinutes(90)));
        assertEquals("1d2h", Durations.format(Duration.ofHours(26)));
        assertEquals("1s500ms", Durations.format(Duration.ofMillis(1500)));
        assertEquals(Duration.ofMinutes(90), Durations.parse(Durations.format(Duration.ofMinutes(90))));
    }
}
