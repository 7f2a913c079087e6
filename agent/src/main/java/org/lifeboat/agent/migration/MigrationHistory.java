package org.lifeboat.agent.migration;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.logging.Logger;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.storage.AtomicFiles;

/**
 * The reports of the last migrations this node started, newest kept, for `lifeboat history`:
 * the per-migration detail (job id, every phase, CRIU's own figures) that metrics must not carry
 * as labels. Saved in the state directory after every migration, atomically, so a restarted agent
 * still has them.
 */
public final class MigrationHistory implements MigrationObserver {

    static final String FILE_NAME = "migrations.json";
    public static final int DEFAULT_CAPACITY = 200;
    private static final TypeReference<List<MigrationReport>> REPORTS = new TypeReference<>() {};
    private static final Logger LOG = Logger.getLogger(MigrationHistory.class.getName());

    private final Path file;
    private final int capacity;
    private final ObjectMapper json = AgentJson.mapper();
    // Oldest first, as saved.
    private final Deque<MigrationReport> reports;

    private MigrationHistory(Path file, int capacity, List<MigrationReport> saved) {
        this.file = file;
        this.capacity = capacity;
        this.reports = new ArrayDeque<>(saved.subList(Math.max(0, saved.size() - capacity), saved.size()));
    }

    /**
     * The history saved in {@code stateDirectory}, or an empty one. A file that cannot be read is
     * not thrown away: it is renamed aside (named in the log) and the history starts afresh, since
     * a damaged history must not keep the agent, and with it every migration, from starting.
     */
    public static MigrationHistory load(Path stateDirectory, int capacity, Clock clock) throws IOException {
        if (capacity < 1) {
            throw new IllegalArgumentException("a history holds at least one migration, not " + capacity);
        }
        Path file = Objects.requireNonNull(stateDirectory, "stateDirectory").resolve(FILE_NAME);
        if (!Files.exists(file)) {
            return new MigrationHistory(file, capacity, List.of());
        }
        try {
            List<MigrationReport> saved = AgentJson.mapper().readValue(file.toFile(), REPORTS);
            if (saved == null || saved.contains(null)) {
                throw new IOException("it is not a list of migration reports");
            }
            return new MigrationHistory(file, capacity, saved);
        } catch (IOException e) {
            Path aside = file.resolveSibling(FILE_NAME + ".unreadable-" + clock.millis());
            Files.move(file, aside, StandardCopyOption.ATOMIC_MOVE);
            LOG.warning("cannot read the migration history " + file + " (" + e.getMessage() + "): kept it as " + aside
                    + ", starting a new history");
            return new MigrationHistory(file, capacity, List.of());
        }
    }

    /** Keeps the report, dropping the oldest beyond the capacity, and saves the history. */
    @Override
    public synchronized void migrationEnded(MigrationReport report) {
        reports.addLast(Objects.requireNonNull(report, "report"));
        while (reports.size() > capacity) {
            reports.removeFirst();
        }
        try {
            AtomicFiles.write(file, json.writeValueAsBytes(new ArrayList<>(reports)));
        } catch (IOException e) {
            // The report stays in memory and is saved with the next one; the migration itself is done.
            LOG.warning("migration " + report.migrationId() + ": cannot save the migration history " + file + ": " + e.getMessage());
        }
    }

    /** The kept reports, newest first. */
    public synchronized List<MigrationReport> recent() {
        List<MigrationReport> newestFirst = new ArrayList<>(reports);
        Collections.reverse(newestFirst);
        return newestFirst;
    }
}
