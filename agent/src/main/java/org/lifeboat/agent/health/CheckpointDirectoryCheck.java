package org.lifeboat.agent.health;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The checkpoint directory: there, a directory, writable (a small file is written and removed: a
 * read-only or vanished mount fails it), and with at least the configured space free. The file
 * system's type is named, so that a tmpfs that was never mounted shows as the disk under it.
 */
public final class CheckpointDirectoryCheck implements DependencyCheck {

    // Hidden, and not a name the migration layout uses; written over by each check, so a crash leaves one at most.
    static final String PROBE_FILE = ".lifeboat-dependency-check";
    private static final long MIB = 1024 * 1024;

    private final Path directory;
    private final long minimumFreeBytes;

    public CheckpointDirectoryCheck(Path directory, long minimumFreeBytes) {
        this.directory = Objects.requireNonNull(directory, "directory");
        this.minimumFreeBytes = minimumFreeBytes;
    }

    @Override
    public DependencyState check() {
        if (!Files.isDirectory(directory)) {
            return DependencyState.notReady(directory + (Files.exists(directory) ? " is not a directory" : " does not exist"));
        }
        Path probe = directory.resolve(PROBE_FILE);
        try {
            Files.write(probe, new byte[] {1});
            Files.delete(probe);
        } catch (IOException e) {
            return DependencyState.notReady("cannot write in " + directory + ": " + e);
        }
        FileStore store;
        long free;
        try {
            store = Files.getFileStore(directory);
            free = store.getUsableSpace();
        } catch (IOException e) {
            return DependencyState.notReady("cannot read the free space of " + directory + ": " + e);
        }
        String space = directory + " (" + store.type() + "): " + free / MIB + " MiB free";
        if (free < minimumFreeBytes) {
            return DependencyState.notReady(space + ", less than the " + minimumFreeBytes / MIB
                    + " MiB health.checkpoint-min-free-bytes asks for");
        }
        return DependencyState.ready(space);
    }
}
