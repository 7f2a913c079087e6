package org.lifeboat.agent.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointDirectoryCheckTest {

    private static final long MIB = 1024 * 1024;
    private static final Pattern FREE = Pattern.compile(".* \\(\\w+\\): \\d+ MiB free");

    @TempDir
    Path directory;

    @Test
    void aWritableDirectoryWithRoomIsReadyAndSaysItsFileSystemAndFreeSpace() throws Exception {
        DependencyState state = new CheckpointDirectoryCheck(directory, MIB).check();

        assertTrue(state.ready(), state.detail());
        assertTrue(state.detail().startsWith(directory + " ("), state.detail());
        assertTrue(FREE.matcher(state.detail()).matches(), state.detail());
        try (Stream<Path> left = Files.list(directory)) {
            assertEquals(List.of(), left.toList(), "the check leaves nothing behind");
        }
    }

    @Test
    void aDirectoryWithLessFreeThanTheMinimumIsNotReady() {
        DependencyState state = new CheckpointDirectoryCheck(directory, Long.MAX_VALUE).check();

        assertFalse(state.ready());
        assertTrue(state.detail().contains(" MiB free, less than the " + Long.MAX_VALUE / MIB
                + " MiB health.checkpoint-min-free-bytes asks for"), state.detail());
    }

    @Test
    void aMissingDirectoryIsNotReady() {
        Path missing = directory.resolve("checkpoints");

        assertEquals(DependencyState.notReady(missing + " does not exist"), new CheckpointDirectoryCheck(missing, 0).check());
    }

    @Test
    void aFileWhereTheDirectoryBelongsIsNotReady() throws Exception {
        Path file = Files.writeString(directory.resolve("checkpoints"), "");

        assertEquals(DependencyState.notReady(file + " is not a directory"), new CheckpointDirectoryCheck(file, 0).check());
    }

    @Test
    void aDirectoryNoOneCanWriteInIsNotReady() {
        // /proc takes no new files, not even root's (the tests may run as root, for whom modes do not count).
        DependencyState state = new CheckpointDirectoryCheck(Path.of("/proc"), 0).check();

        assertFalse(state.ready());
        assertTrue(state.detail().startsWith("cannot write in /proc: "), state.detail());
    }
}
