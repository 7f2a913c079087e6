package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MigrationHistoryTest {

    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-22T06:00:00Z"), ZoneOffset.UTC);

    @TempDir
    Path state;

    @Test
    void aNewHistoryIsEmptyAndKeepsReportsNewestFirst() throws Exception {
        MigrationHistory history = MigrationHistory.load(state, 10, CLOCK);
        assertEquals(List.of(), history.recent());

        history.migrationEnded(Reports.migrated("job1-aaaa", 1, 0));
        history.migrationEnded(Reports.rolledBack("job2-bbbb", 2, 0));

        assertEquals(List.of(Reports.rolledBack("job2-bbbb", 2, 0), Reports.migrated("job1-aaaa", 1, 0)), history.recent());
    }

    @Test
    void aRestartedAgentGetsEveryReportBackWhole() throws Exception {
        MigrationHistory before = MigrationHistory.load(state, 10, CLOCK);
        before.migrationEnded(Reports.migrated("job1-aaaa", 1, 1000));
        before.migrationEnded(Reports.rolledBack("job2-bbbb", 2, 1001));

        MigrationHistory after = MigrationHistory.load(state, 10, CLOCK);

        assertEquals(before.recent(), after.recent(), "phases, CRIU figures, reason and cause survive the file");
        assertTrue(Files.notExists(state.resolve(MigrationHistory.FILE_NAME + ".tmp")));
    }

    @Test
    void onlyTheNewestUpToTheCapacityAreKeptAndSaved() throws Exception {
        MigrationHistory history = MigrationHistory.load(state, 3, CLOCK);
        for (int job = 1; job <= 5; job++) {
            history.migrationEnded(Reports.migrated("job" + job + "-cccc", job, 0));
        }

        List<String> kept = ids(history);
        assertEquals(List.of("job5-cccc", "job4-cccc", "job3-cccc"), kept);
        assertEquals(kept, ids(MigrationHistory.load(state, 3, CLOCK)));
        assertEquals(List.of("job5-cccc", "job4-cccc"), ids(MigrationHistory.load(state, 2, CLOCK)),
                "a smaller capacity keeps the newest of a saved history");
    }

    @Test
    void anUnreadableHistoryIsKeptAsideAndANewOneStarts() throws Exception {
        Files.writeString(state.resolve(MigrationHistory.FILE_NAME), "[{\"migration\": \"torn");

        MigrationHistory history = MigrationHistory.load(state, 10, CLOCK);

        assertEquals(List.of(), history.recent());
        Path aside = state.resolve(MigrationHistory.FILE_NAME + ".unreadable-" + CLOCK.millis());
        assertEquals("[{\"migration\": \"torn", Files.readString(aside), "the damaged file is kept, not lost");
        history.migrationEnded(Reports.migrated("job1-aaaa", 1, 0));
        assertEquals(1, MigrationHistory.load(state, 10, CLOCK).recent().size());
    }

    @Test
    void aListWithANullIsUnreadableToo() throws Exception {
        Files.writeString(state.resolve(MigrationHistory.FILE_NAME), "[null]");

        assertEquals(List.of(), MigrationHistory.load(state, 10, CLOCK).recent());
        assertTrue(Files.exists(state.resolve(MigrationHistory.FILE_NAME + ".unreadable-" + CLOCK.millis())));
    }

    @Test
    void aReportThatCannotBeSavedIsStillKeptInMemory() throws Exception {
        MigrationHistory history = MigrationHistory.load(state, 10, CLOCK);
        // A directory where the temporary file goes makes every save fail.
        Files.createDirectory(state.resolve(MigrationHistory.FILE_NAME + ".tmp"));

        history.migrationEnded(Reports.migrated("job1-aaaa", 1, 0));

        assertEquals(List.of("job1-aaaa"), ids(history));
        assertTrue(Files.notExists(state.resolve(MigrationHistory.FILE_NAME)));
    }

    @Test
    void aCapacityBelowOneIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> MigrationHistory.load(state, 0, CLOCK));
    }

    private static List<String> ids(MigrationHistory history) {
        return history.recent().stream().map(MigrationReport::migrationId).toList();
    }
}
