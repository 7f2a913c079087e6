package org.lifeboat.agent.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;

/** Makes sure the directories the agent writes to are in place before anything starts. */
public final class AgentDirectories {

    private final Path stateDirectory;
    private final Path checkpointDirectory;

    public AgentDirectories(Path stateDirectory, Path checkpointDirectory) {
        this.stateDirectory = Objects.requireNonNull(stateDirectory, "stateDirectory");
        this.checkpointDirectory = Objects.requireNonNull(checkpointDirectory, "checkpointDirectory");
    }

    /**
     * Creates the state directory, readable by the agent's user only because job state may hold secrets.
     * The checkpoint directory is only checked: sites mount a tmpfs there, and creating it on the root
     * file system instead would hide a missing mount until the disk fills up.
     */
    public void prepare() throws IOException {
        if (!Files.isDirectory(checkpointDirectory)) {
            throw new IOException("checkpoint directory " + checkpointDirectory
                    + " does not exist or is not a directory; create or mount it first");
        }
        if (!Files.isDirectory(stateDirectory)) {
            Files.createDirectories(stateDirectory,
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
    }
}
