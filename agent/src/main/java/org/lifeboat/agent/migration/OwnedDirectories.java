package org.lifeboat.agent.migration;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.Optional;
import java.util.stream.Stream;
import org.lifeboat.agent.criu.JobOwner;

/**
 * The directories CRIU, run as a job's owner, works in: theirs alone (0700), each below a
 * directory of root's that the owner either cannot enter (images) or can only pass through (the
 * control directory, the restore root). Root's jobs get the same modes, owned by root.
 */
final class OwnedDirectories {

    private static final String PRIVATE = "rwx------";
    private static final String PASS_THROUGH = "rwx--x--x";

    private OwnedDirectories() {}

    /** Creates the directory (and missing parents, root's) and gives it to the owner, 0700. */
    static void create(Path directory, Optional<JobOwner> owner) throws IOException {
        Files.createDirectories(directory);
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString(PRIVATE));
        chown(directory, owner);
    }

    /** A directory of root's that others may pass through but not list (0711). */
    static void passThrough(Path directory) throws IOException {
        Files.createDirectories(directory);
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString(PASS_THROUGH));
    }

    /** A directory of root's that nobody else may enter (0700). */
    static void rootOnly(Path directory) throws IOException {
        Files.createDirectories(directory);
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString(PRIVATE));
    }

    /**
     * Gives the directory and everything in it to the owner: images received by root (page server,
     * tar) that the owner's CRIU restores from. Links are not followed; the directory stays where
     * only root can reach it.
     */
    static void handOver(Path directory, Optional<JobOwner> owner) throws IOException {
        if (owner.isEmpty()) {
            return;
        }
        try (Stream<Path> paths = Files.walk(directory)) {
            for (Path path : (Iterable<Path>) paths::iterator) {
                chown(path, owner);
            }
        }
    }

    private static void chown(Path path, Optional<JobOwner> owner) throws IOException {
        if (owner.isEmpty()) {
            return;
        }
        UserPrincipalLookupService names = path.getFileSystem().getUserPrincipalLookupService();
        PosixFileAttributeView attributes = Files.getFileAttributeView(path, PosixFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS);
        // By number: the owner need not have a name on this node for the files to be theirs.
        UserPrincipal user = names.lookupPrincipalByName(Integer.toString(owner.get().uid()));
        GroupPrincipal group = names.lookupPrincipalByGroupName(Integer.toString(owner.get().gid()));
        attributes.setOwner(user);
        attributes.setGroup(group);
    }
}
