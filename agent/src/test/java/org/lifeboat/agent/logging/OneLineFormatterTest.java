package org.lifeboat.agent.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

class OneLineFormatterTest {

    private final OneLineFormatter formatter = new OneLineFormatter();

    @Test
    void writesTimeLevelShortLoggerNameAndMessageOnOneLine() {
        LogRecord record = new LogRecord(Level.INFO, "lifeboat agent {0} started");
        record.setParameters(new Object[] {"1.2.3"});
        record.setLoggerName("org.lifeboat.agent.cli.AgentCommand");

        String line = formatter.format(record);

        assertTrue(line.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d) "
                + "INFO AgentCommand: lifeboat agent 1\\.2\\.3 started" + System.lineSeparator()), line);
    }

    @Test
    void foldsLineBreaksInTheMessage() {
        LogRecord record = new LogRecord(Level.WARNING, "first\nsecond\r\nthird");
        record.setLoggerName("x");

        String line = formatter.format(record);

        assertEquals(1, line.lines().count(), line);
        assertTrue(line.endsWith("WARNING x: first second third" + System.lineSeparator()), line);
    }

    @Test
    void appendsTheStackTraceOfAThrownException() {
        LogRecord record = new LogRecord(Level.SEVERE, "did not stop cleanly");
        record.setLoggerName("x");
        record.setThrown(new IllegalStateException("socket stuck"));

        String text = formatter.format(record);

        assertTrue(text.lines().findFirst().orElseThrow().endsWith("SEVERE x: did not stop cleanly"), text);
        assertTrue(text.contains("java.lang.IllegalStateException: socket stuck"), text);
        assertTrue(text.contains("\tat org.lifeboat.agent.logging.OneLineFormatterTest"), text);
    }
}
