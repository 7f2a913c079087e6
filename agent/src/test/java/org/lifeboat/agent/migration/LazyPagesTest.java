package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The files a post-copy target shares with its guard, and the guard's verdict as the agent reads it. */
class LazyPagesTest {

    @TempDir
    Path incoming;

    @Test
    void theGuardsFilesLieBesideTheImagesNeverInTheDirectoryTheOwnersCriuWrites() {
        Path images = incoming.resolve("job7-a1");

        // The guard, root, kills the pid its file names: a file the job's owner could write would let them
        // have root kill any process. The incoming directory is root's alone (CheckpointDirectories).
        assertEquals(incoming, LazyPages.restoredPidFile(images).getParent());
        assertEquals(incoming, LazyPages.statusFile(images).getParent());
        assertFalse(LazyPages.restoredPidFile(images).startsWith(images));
    }

    @Test
    void theVerdictIsWhatTheGuardWroteAndOnlyCompleteMeansEveryPageArrived() throws Exception {
        Path images = Files.createDirectories(incoming.resolve("job7-a1"));
        assertEquals(Optional.empty(), LazyPages.awaitVerdict(images, Duration.ofMillis(120)), "no verdict while the daemon runs");

        Files.writeString(LazyPages.statusFile(images), "failed: the lazy-pages daemon exited with 1; the restored tree was killed\n");

        String verdict = LazyPages.awaitVerdict(images, Duration.ofSeconds(1)).orElseThrow();
        assertTrue(verdict.startsWith("failed: "), verdict);
        assertFalse(LazyPages.complete(verdict));
        assertTrue(LazyPages.complete("complete"));
    }

    @Test
    void theRestoredPidIsWrittenWholeAndBothFilesGoWithTheMigration() throws Exception {
        Path images = Files.createDirectories(incoming.resolve("job7-a1"));

        LazyPages.restored(images, 4242);

        assertEquals("4242\n", Files.readString(LazyPages.restoredPidFile(images)));
        Files.writeString(LazyPages.statusFile(images), "complete\n");
        LazyPages.forget(images);
        assertFalse(Files.exists(LazyPages.restoredPidFile(images)));
        assertFalse(Files.exists(LazyPages.statusFile(images)));
    }
}
