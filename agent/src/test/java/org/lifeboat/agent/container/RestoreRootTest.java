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

        assertTrue(error.getMessage().contains("leaves the restore root"), error.getMessage());
        assertEquals(List.of("umount", root.toString()), commands.commands().get(1));
    }
}
