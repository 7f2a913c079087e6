package org.lifeboat.agent.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentDirectoriesTest {

    @TempDir
    Path directory;

    @Test
    void createsAMissingStateDirectoryForTheOwnerOnly() throws Exception {
        Path state = directory.resolve("lib/lifeboat");
        Path checkpoints = Files.createDirectory(directory.resolve("checkpoints"));

        new AgentDirectories(state, checkpoints).prepare();

        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(state)));
    }

    @Test
    void leavesAnExistingStateDirectoryAlone() throws Exception {
        Path state = Files.createDirectory(directory.resolve("state"));
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-x---"));
        Path checkpoints = Files.createDirectory(directory.resolve("checkpoints"));

        new AgentDirectories(state, checkpoints).prepare();

        assertEquals("rwxr-x---", PosixFilePermissions.toString(Files.getPosixFilePermissions(state)));
    }

    @Test
    void refusesAMissingCheckpointDirectoryAndNamesIt() {
        Path state = directory.resolve("state");
        Path checkpoints = directory.resolve("checkpoints");

        IOException error = assertThrows(IOException.class, () -> new AgentDirectories(state, checkpoints).prepare());

        assertTrue(error.getMessage().contains(checkpoints.toString()), error.getMessage());
        assertFalse(Files.exists(checkpoints), "the agent must not create the checkpoint directory");
        assertFalse(Files.exists(state), "nothing is created when a prerequisite is missing");
    }

    @Test
    void refusesACheckpointPathThatIsAFile() throws Exception {
        Path checkpoints = Files.createFile(directory.resolve("checkpoints"));

        IOException error = assertThrows(IOException.class,
                () -> new AgentDirectories(directory.resolve("state"), checkpoints).prepare());

        assertTrue(error.getMessage().contains(checkpoints.toString()), error.getMessage());
    }
}
