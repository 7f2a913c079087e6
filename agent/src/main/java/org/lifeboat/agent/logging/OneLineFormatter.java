package org.lifeboat.agent.logging;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.logging.Formatter;
import java.util.logging.LogRecord;

/**
 * One line per record, "time level logger: message", so that journald and grep see one event per line.
 * Only a thrown exception adds lines: its stack trace is what a bug report needs.
 */
public final class OneLineFormatter extends Formatter {

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").withZone(ZoneId.systemDefault());

    @Override
    public String format(LogRecord record) {
        StringBuilder text = new StringBuilder()
                .append(TIME.format(record.getInstant())).append(' ')
                .append(record.getLevel().getName()).append(' ')
                .append(simpleName(record.getLoggerName())).append(": ")
                .append(formatMessage(record).replaceAll("\\R", " "))
                .append(System.lineSeparator());
        if (record.getThrown() != null) {
            StringWriter stackTrace = new StringWriter();
            record.getThrown().printStackTrace(new PrintWriter(stackTrace));
            text.append(stackTrace);
        }
        return text.toString();
    }

    private static String simpleName(String loggerName) {
        if (loggerName == null) {
            return "";
        }
        return loggerName.substring(loggerName.lastIndexOf('.') + 1);
    }
}
