package org.lifeboat.predictor.detect;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * One reading of the kernel's EDAC counters: per memory controller ({@code mcN/ce_count},
 * {@code mcN/ue_count}) and, where the driver exposes them, per DIMM ({@code mcN/dimmM/dimm_ce_count}
 * with {@code dimm_label}) so that a prediction can say which module is failing.
 *
 * @param controllers correctable and uncorrectable totals by controller name (mc0, mc1, …)
 * @param dimms       correctable counts by "mcN/dimmM" with the DIMM's label when it has one
 */
record EdacCounters(Map<String, Counts> controllers, Map<String, Dimm> dimms) {

    private static final Pattern CONTROLLER = Pattern.compile("mc\\d+");
    private static final Pattern DIMM = Pattern.compile("dimm\\d+");

    record Counts(long correctable, long uncorrectable) {}

    record Dimm(String label, long correctable) {}

    /** Reads every controller under {@code root} (e.g. /sys/devices/system/edac/mc). */
    static EdacCounters read(Path root) throws IOException {
        Map<String, Counts> controllers = new TreeMap<>();
        Map<String, Dimm> dimms = new TreeMap<>();
        for (Path controller : children(root, CONTROLLER)) {
            String name = controller.getFileName().toString();
            controllers.put(name, new Counts(number(controller.resolve("ce_count")), number(controller.resolve("ue_count"))));
            for (Path dimm : children(controller, DIMM)) {
                Path countFile = dimm.resolve("dimm_ce_count");
                if (Files.exists(countFile)) {
                    Path labelFile = dimm.resolve("dimm_label");
                    String label = Files.exists(labelFile) ? Files.readString(labelFile).strip() : "";
                    dimms.put(name + "/" + dimm.getFileName(), new Dimm(label, number(countFile)));
                }
            }
        }
        return new EdacCounters(controllers, dimms);
    }

    private static List<Path> children(Path directory, Pattern name) throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory,
                entry -> name.matcher(entry.getFileName().toString()).matches() && Files.isDirectory(entry))) {
            List<Path> sorted = new ArrayList<>();
            entries.forEach(sorted::add);
            sorted.sort(null);
            return sorted;
        }
    }

    private static long number(Path file) throws IOException {
        String text = Files.readString(file).strip();
        try {
            long value = Long.parseLong(text);
            if (value < 0) {
                throw new IOException(file + " holds a negative count: " + text);
            }
            return value;
        } catch (NumberFormatException e) {
            throw new IOException(file + " does not hold a count: '" + text + "'");
        }
    }
}
