package org.lifeboat.agent.container;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.CommandRunner;

/**
 * The directory CRIU restores a container's mount namespace onto: a small read-only tmpfs holding
 * the launcher's skeleton, because CRIU does not save the container's root and needs every mount
 * point to exist. The restored container keeps its own copy of this mount, so it is unmounted here
 * right after the restore.
 */
public final class RestoreRoot {

    private static final Duration MOUNT_TIMEOUT = Duration.ofSeconds(30);

    private final CommandRunner commands;

    public RestoreRoot(CommandRunner commands) {
        this.commands = Objects.requireNonNull(commands, "commands");
    }

    /** The root the container's manifest calls for: lifeboat-run's skeleton, or an Apptainer instance's image. */
    public void build(Path root, ContainerManifest container) throws IOException, CommandException {
        if (container.apptainer() == null) {
            build(root, container.skeleton());
        } else {
            mountImage(root, container.apptainer());
        }
    }

    public void build(Path root, List<ContainerManifest.SkeletonEntry> skeleton) throws IOException, CommandException {
        Files.createDirectories(root);
        commands.run(List.of("mount", "-t", "tmpfs", "-o", "mode=0755,nosuid,nodev,size=16m", "lifeboat-root", root.toString()),
                MOUNT_TIMEOUT).requireSuccess();
        try {
            for (ContainerManifest.SkeletonEntry entry : skeleton) {
                Path path = inside(root, entry.path());
                switch (entry.type()) {
                    case "directory" -> Files.createDirectories(path);
                    case "file" -> Files.createFile(path);
                    case "symlink" -> Files.createSymbolicLink(path, Path.of(Objects.requireNonNull(entry.target(),
                            "symlink " + entry.path() + " has no target")));
                    default -> throw new IOException("unknown skeleton entry type '" + entry.type() + "' for " + entry.path());
                }
            }
            commands.run(List.of("mount", "-o", "remount,ro", root.toString()), MOUNT_TIMEOUT).requireSuccess();
        } catch (IOException | CommandException | RuntimeException e) {
            unmount(root);
            throw e;
        }
    }

    /**
     * An Apptainer instance's root: the SIF's squashfs partition, read-only, from a loop device
     * that goes away once the restored container, which keeps its own copy of the mount, ends.
     * The image must be the one the instance ran: same path, and the same partition start. When
     * the instance had Apptainer's overlay (mount points the image lacks), the partition is its
     * lower layer beside the root, under an upper layer (a tmpfs) holding the missing mount points,
     * and the overlay is made read-only, as Apptainer leaves it.
     */
    public void mountImage(Path root, ContainerManifest.ApptainerRoot apptainer) throws IOException, CommandException {
        Path image = Path.of(apptainer.image());
        if (!Files.isRegularFile(image)) {
            throw new IOException("the instance's image " + image + " is not on this node: keep SIF images on a shared file system");
        }
        if (Files.size(image) < apptainer.offset() + apptainer.size()) {
            throw new IOException("the image " + image + " here is smaller than the one the instance ran");
        }
        if (!ApptainerInstances.superblockDigest(image, apptainer.offset()).equals(apptainer.superblockSha256())) {
            throw new IOException("the image " + image + " here is not the one the instance ran (its root partition differs)");
        }
        boolean overlay = !apptainer.overlayMountPoints().isEmpty();
        Path partition = overlay ? lowerLayer(root) : root;
        Files.createDirectories(partition);
        commands.run(List.of("mount", "-t", "squashfs", "-o", "ro,nosuid,nodev,loop,offset=" + apptainer.offset()
                + ",sizelimit=" + apptainer.size(), image.toString(), partition.toString()), MOUNT_TIMEOUT).requireSuccess();
        if (!overlay) {
            return;
        }
        try {
            Path layers = upperLayers(root);
            Files.createDirectories(layers);
            commands.run(List.of("mount", "-t", "tmpfs", "-o", "mode=0755,nosuid,nodev,size=16m", "lifeboat-overlay",
                    layers.toString()), MOUNT_TIMEOUT).requireSuccess();
            Path upper = Files.createDirectory(layers.resolve("upper"));
            Files.createDirectory(layers.resolve("work"));
            for (ContainerManifest.SkeletonEntry point : apptainer.overlayMountPoints()) {
                if (Files.exists(inside(partition, point.path()), LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                Path missing = inside(upper, point.path());
                switch (point.type()) {
                    case "directory" -> Files.createDirectories(missing);
                    case "file" -> {
                        Files.createDirectories(missing.getParent());
                        Files.createFile(missing);
                    }
                    default -> throw new IOException("unknown mount point type '" + point.type() + "' for " + point.path());
                }
            }
            Files.createDirectories(root);
            commands.run(List.of("mount", "-t", "overlay", "-o", "nosuid,nodev,lowerdir=" + partition + ",upperdir=" + upper
                    + ",workdir=" + layers.resolve("work"), "lifeboat-overlay", root.toString()), MOUNT_TIMEOUT).requireSuccess();
            commands.run(List.of("mount", "-o", "remount,ro", root.toString()), MOUNT_TIMEOUT).requireSuccess();
        } catch (IOException | CommandException | RuntimeException e) {
            unmount(root);
            throw e;
        }
    }

    /**
     * Unmounts the root and, for an overlay, its layers beside it (the restored container keeps
     * its own copy of them). The layers' directories exist only for an overlay.
     */
    public void unmount(Path root) throws CommandException {
        for (Path mount : List.of(root, lowerLayer(root), upperLayers(root))) {
            if (Files.isDirectory(mount, LinkOption.NOFOLLOW_LINKS)) {
                commands.run(List.of("umount", mount.toString()), MOUNT_TIMEOUT).requireSuccess();
            }
        }
    }

    private static Path lowerLayer(Path root) {
        return root.resolveSibling("image");
    }

    private static Path upperLayers(Path root) {
        return root.resolveSibling("layers");
    }

    /** The entry's path below the root; a path that would leave the root is refused. */
    private static Path inside(Path root, String path) throws IOException {
        Path resolved = root.resolve(path.startsWith("/") ? path.substring(1) : path).normalize();
        if (!resolved.startsWith(root) || resolved.equals(root)) {
            throw new IOException("path " + path + " leaves " + root);
        }
        return resolved;
    }
}
