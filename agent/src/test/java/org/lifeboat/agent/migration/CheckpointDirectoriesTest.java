package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointDirectoriesTest {

    @TempDir
    Path directory;

    /**
     * The attack: the job's owner, who owns the directory a restore root goes in, puts a link
     * where the root will be mounted, so that root mounts the image (or tmpfs) over /etc. The
     * directory is now made afresh as root's, and the owner's only once the mounts are in place.
     */
    @Test
    void aLinkTheOwnerLeftWhereTheRootGoesIsRemovedAndTheDirectoryIsRootsUntilTheMounts() throws Exception {
        Path etc = Files.createDirectory(directory.resolve("etc"));
        Path root = CheckpointDirectories.restoreRoot(directory, "parked-job42");
        Files.createDirectories(root.getParent());
        Files.createSymbolicLink(root, etc);

        CheckpointDirectories.prepareRestoreRoot(root);

        assertTrue(Files.notExists(root, LinkOption.NOFOLLOW_LINKS), "the owner's link is gone");
        assertTrue(Files.isDirectory(etc), "what it pointed to is untouched");
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.getParent())));
        assertEquals(Files.getAttribute(directory, "unix:uid"), Files.getAttribute(root.getParent(), "unix:uid"),
                "the agent's until the mounts are in place");
    }
}
