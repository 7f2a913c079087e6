package org.lifeboat.agent.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.process.FakeCommandRunner;

class RestoreRootTest {

    @TempDir
    Path directory;

    private final FakeCommandRunner commands = new FakeCommandRunner();

    @Test
    void buildsTheSkeletonOnAFreshTmpfsAndMakesItReadOnly() throws Exception {
        Path root = directory.resolve("root");
        commands.answer(0, "", "").answer(0, "", "");

        new RestoreRoot(commands).build(root, List.of(
                new ContainerManifest.SkeletonEntry("/usr", "directory", null),
                new ContainerManifest.SkeletonEntry("/bin", "symlink", "usr/bin"),
                new ContainerManifest.SkeletonEntry("/dev", "directory", null),
                new ContainerManifest.SkeletonEntry("/dev/null", "file", null)));

        assertTrue(Files.isDirectory(root.resolve("usr")));
        assertEquals(Path.of("usr/bin"), Files.readSymbolicLink(root.resolve("bin")));
        assertTrue(Files.isRegularFile(root.resolve("dev/null")));
        assertEquals(List.of("mount", "-t", "tmpfs", "-o", "mode=0755,nosuid,nodev,size=16m", "lifeboat-root", root.toString()),
                commands.commands().get(0));
        assertEquals(List.of("mount", "-o", "remount,ro", root.toString()), commands.commands().get(1));
    }

    @Test
    void aSkeletonPathLeavingTheRootIsRefusedAndTheTmpfsUnmounted() throws Exception {
        Path root = directory.resolve("root");
        commands.answer(0, "", "").answer(0, "", "");

        IOException error = assertThrows(IOException.class, () -> new RestoreRoot(commands).build(root,
                List.of(new ContainerManifest.SkeletonEntry("/../../etc", "directory", null))));

        assertTrue(error.getMessage().contains("leaves "), error.getMessage());
        assertEquals(List.of("umount", root.toString()), commands.commands().get(1));
    }

    @Test
    void anOverlayRootIsRebuiltOverTheImageWithTheMountPointsTheImageLacks() throws Exception {
        Path root = directory.resolve("root");
        Path image = sif(directory.resolve("job.sif"));
        Path lower = directory.resolve("image");
        // The image's partition, as mounted: it has /mnt and /etc/hosts, not the user's home or /scratch/x.
        Files.createDirectories(lower.resolve("mnt"));
        Files.createDirectories(lower.resolve("etc"));
        Files.createFile(lower.resolve("etc/hosts"));
        succeed(7);

        new RestoreRoot(commands).mountImage(root, apptainer(image, List.of(
                new ContainerManifest.SkeletonEntry("/home/lbalice", "directory", null),
                new ContainerManifest.SkeletonEntry("/mnt", "directory", null),
                new ContainerManifest.SkeletonEntry("/etc/hosts", "file", null),
                new ContainerManifest.SkeletonEntry("/scratch/x", "file", null))));

        Path upper = directory.resolve("layers/upper");
        assertTrue(Files.isDirectory(upper.resolve("home/lbalice")));
        assertTrue(Files.isRegularFile(upper.resolve("scratch/x")));
        assertTrue(Files.notExists(upper.resolve("mnt")) && Files.notExists(upper.resolve("etc")),
                "what the image has is not shadowed");
        assertEquals(List.of(
                List.of("mount", "-t", "squashfs", "-o", "ro,nosuid,nodev,loop,offset=0,sizelimit=4096", image.toString(),
                        lower.toString()),
                List.of("mount", "-t", "tmpfs", "-o", "mode=0755,nosuid,nodev,size=16m", "lifeboat-overlay",
                        directory.resolve("layers").toString()),
                List.of("mount", "-t", "overlay", "-o", "nosuid,nodev,lowerdir=" + lower + ",upperdir=" + upper + ",workdir="
                        + directory.resolve("layers/work"), "lifeboat-overlay", root.toString()),
                List.of("mount", "-o", "remount,ro", root.toString())), commands.commands());

        new RestoreRoot(commands).unmount(root);
        assertEquals(List.of(List.of("umount", root.toString()), List.of("umount", lower.toString()),
                List.of("umount", directory.resolve("layers").toString())), commands.commands().subList(4, 7));
    }

    @Test
    void anOverlayMountPointLeavingTheUpperLayerIsRefusedAndEverythingUnmounted() throws Exception {
        Path root = directory.resolve("root");
        Path image = sif(directory.resolve("job.sif"));
        succeed(4);

        IOException error = assertThrows(IOException.class, () -> new RestoreRoot(commands).mountImage(root,
                apptainer(image, List.of(new ContainerManifest.SkeletonEntry("/../../../etc/cron.d", "directory", null)))));

        assertTrue(error.getMessage().contains("leaves "), error.getMessage());
        assertTrue(Files.notExists(directory.getParent().resolve("etc/cron.d")));
        assertTrue(commands.commands().contains(List.of("umount", directory.resolve("image").toString())), commands.commands()::toString);
    }

    private void succeed(int commandCount) {
        for (int i = 0; i < commandCount; i++) {
            commands.answer(0, "", "");
        }
    }

    private static Path sif(Path file) throws IOException {
        return Files.write(file, new byte[4096]);
    }

    private static ContainerManifest.ApptainerRoot apptainer(Path image, List<ContainerManifest.SkeletonEntry> points)
            throws IOException {
        return new ContainerManifest.ApptainerRoot("job-1", image.toString(), 0, 4096,
                ApptainerInstances.superblockDigest(image, 0), List.of(), points);
    }
}
