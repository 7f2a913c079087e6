package org.lifeboat.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.Iterator;
import java.util.Map;

/** A migration report as `lifeboat migrate` and `lifeboat history` print it for people. */
final class MigrationReportFormat {

    private MigrationReportFormat() {}

    /** The summary line, one line per phase (CRIU's own figures beside its dump and its restore), sizes, cause. */
    static void print(PrintWriter out, JsonNode report) {
        out.printf("job %s: %s from %s to %s (%s), %d ms in all, frozen %d ms%n", report.path("job").asText(),
                report.path("outcome").asText(), report.path("from").asText(), report.path("to").asText(),
                report.path("mode").asText(), report.path("total-millis").asLong(), report.path("downtime-millis").asLong());
        for (Iterator<Map.Entry<String, JsonNode>> phases = report.path("phase-millis").fields(); phases.hasNext(); ) {
            Map.Entry<String, JsonNode> phase = phases.next();
            out.printf("  %-15s %6d ms%s%n", phase.getKey(), phase.getValue().asLong(), criuFigures(phase.getKey(), report));
        }
        long pageBytes = report.path("page-bytes").asLong();
        long pageWireBytes = report.path("page-wire-bytes").asLong(pageBytes);
        out.printf("  memory %d bytes%s, other images %d bytes%n", pageBytes,
                pageWireBytes < pageBytes ? String.format(" (%d on the link, compressed)", pageWireBytes) : "",
                report.path("image-bytes").asLong());
        if (report.path("mode").asText().equals("post-copy") && report.path("phase-millis").has("fetch-pages")) {
            out.printf("  split %d ms: the job ran on %s while part of its memory was still on %s%n",
                    report.path("split-millis").asLong(), report.path("to").asText(), report.path("from").asText());
        }
        if (report.hasNonNull("cause")) {
            String reason = report.hasNonNull("reason") ? " (" + report.path("reason").asText() + ")" : "";
            out.println("  cause" + reason + ": " + report.path("cause").asText());
        }
    }

    private static String criuFigures(String phase, JsonNode report) {
        JsonNode dump = report.path("criu-dump");
        if (phase.equals("dump") && dump.isObject()) {
            return String.format("   CRIU: frozen %s (freezing %s), memdump %s, memwrite %s, %d pages written",
                    millis(dump, "frozen-micros"), millis(dump, "freezing-micros"), millis(dump, "memdump-micros"),
                    millis(dump, "memwrite-micros"), dump.path("pages-written").asLong());
        }
        JsonNode restore = report.path("criu-restore");
        if (phase.equals("restore") && restore.isObject()) {
            return String.format("   CRIU: restore %s (forking %s), %d pages restored",
                    millis(restore, "restore-micros"), millis(restore, "forking-micros"), restore.path("pages-restored").asLong());
        }
        return "";
    }

    private static String millis(JsonNode figures, String micros) {
        return String.format("%.1f ms", figures.path(micros).asLong() / 1000.0);
    }
}
