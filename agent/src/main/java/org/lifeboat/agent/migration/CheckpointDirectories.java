package org.lifeboat.agent.migration;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.lifeboat.agent.criu.JobOwner;

/**
 * The checkpoint directory's layout and modes, set at every start. CRIU runs as each job's owner
 * (see {@code Criu}), so the owner must pass through to what their CRIU reaches by path (the
 * control directory with the post-dump script, the restore root), while images lie below
 * directories only root may enter: the owner's CRIU gets them on a descriptor, and no user can
 * rewrite images that will be restored with CRIU's capabilities.
 */
public final class CheckpointDirectories {

    /** Each outgoing move's control directory (decisions, the target record) and the post-dump script. */
    static final String OUTGOING = "outgoing";
    /** Each diskless move's images on the source. */
    static final String DUMPS = "dumps";

    private CheckpointDirectories() {}

    public static void prepare(Path checkpointDirectory) throws IOException {
        OwnedDirectories.passThrough(checkpointDirectory);
        OwnedDirectories.passThrough(checkpointDirectory.resolve(OUTGOING));
        OwnedDirectories.passThrough(checkpointDirectory.resolve(IncomingMigrations.ROOTS));
        OwnedDirectories.rootOnly(checkpointDirectory.resolve(DUMPS));
        OwnedDirectories.rootOnly(checkpointDirectory.resolve(IncomingMigrations.INCOMING));
    }

    static Path outgoing(Path checkpointDirectory) {
        return checkpointDirectory.resolve(OUTGOING);
    }

    static Path dumps(Path checkpointDirectory) {
        return checkpointDirectory.resolve(DUMPS);
    }

    /**
     * Where a restore's root is mounted: in a directory of the owner's (made by {@link
     * #prepareRestoreRoot}, given to them by {@link #handOverRestoreRoot}), so that their CRIU
     * reaches the root by path and nobody else reaches the job's binds through it.
     */
    static Path restoreRoot(Path checkpointDirectory, String name) {
        return checkpointDirectory.resolve(IncomingMigrations.ROOTS).resolve(name).resolve("root");
    }

    /**
     * A new, empty directory of root's for the root to be mounted in: whatever was there is
     * removed, so nothing the owner left (a link where the root goes) redirects the mounts.
     */
    static void prepareRestoreRoot(Path root) throws IOException {
        DirectoryTrees.delete(root.getParent());
        OwnedDirectories.rootOnly(root.getParent());
    }

    /** Once its mounts are in place (a mount point cannot be replaced), the root's directory is the owner's. */
    static void handOverRestoreRoot(Path root, Optional<JobOwner> owner) throws IOException {
        OwnedDirectories.create(root.getParent(), owner);
    }

    /** Removes a restore root, unmounted, with the owner's directory around it. */
    static void deleteRestoreRoot(Path root) throws IOException {
        DirectoryTrees.delete(root.getParent());
    }
}
