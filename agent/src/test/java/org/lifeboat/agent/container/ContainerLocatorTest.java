package org.lifeboat.agent.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The locator walks a fake /proc: task pid → children → lifeboat-run, whose state directory holds the manifest. */
class ContainerLocatorTest {

    @TempDir
    Path root;

    @Test
    void findsTheContainerStartedBelowATaskProcess() throws IOException {
        Path proc = root.resolve("proc");
        Path containers = root.resolve("containers");
        process(proc, 100, 100, "200 201");
        process(proc, 201, 201, "");
        process(proc, 200, 200, "");
        process(proc, 200, 202, "300"); // a second thread of 200 with its own child
        process(proc, 300, 300, "301");
        manifest(containers, 300, 1);

        Optional<ContainerLocator.LocatedContainer> found = new ContainerLocator(containers, proc).find(List.of(100L));

        assertTrue(found.isPresent());
        assertEquals(300, found.get().launcherPid());
        assertEquals(301, found.get().manifest().initPid());
        assertEquals("/usr", found.get().manifest().externalMountsForRestore().get("usr"));
        assertEquals("usr", found.get().manifest().externalMountsForDump().get("/usr"));
    }

    @Test
    void aJobWithoutAContainerHasNone() throws IOException {
        Path proc = root.resolve("proc");
        process(proc, 100, 100, "");

        assertEquals(Optional.empty(), new ContainerLocator(root.resolve("containers"), proc).find(List.of(100L, 999L)));
    }

    @Test
    void aManifestOfAnotherVersionIsRefused() throws IOException {
        Path proc = root.resolve("proc");
        process(proc, 100, 100, "");
        manifest(root.resolve("containers"), 100, 2);

        IOException error = assertThrows(IOException.class,
                () -> new ContainerLocator(root.resolve("containers"), proc).find(List.of(100L)));

        assertTrue(error.getMessage().contains("manifest version 2"), error.getMessage());
    }

    @Test
    void aManifestOfTheLargestSizeIsReadAndOneByteMoreIsRefused() throws IOException {
        Path proc = root.resolve("proc");
        process(proc, 100, 100, "");
        Path file = manifest(root.resolve("containers"), 100, 1);
        String written = Files.readString(file);
        String padded = written.substring(0, written.length() - 1) + " ".repeat(ContainerManifest.MAX_BYTES - written.length()) + "}";
        Files.writeString(file, padded);
        ContainerLocator locator = new ContainerLocator(root.resolve("containers"), proc);

        assertEquals(101, locator.find(List.of(100L)).orElseThrow().manifest().initPid());

        Files.writeString(file, padded + " ");
        IOException error = assertThrows(IOException.class, () -> locator.find(List.of(100L)));
        assertTrue(error.getMessage().endsWith("has " + (ContainerManifest.MAX_BYTES + 1) + " bytes, more than the "
                + ContainerManifest.MAX_BYTES + " a migration can carry"), error.getMessage());
    }

    private static void process(Path proc, long pid, long thread, String children) throws IOException {
        Path task = Files.createDirectories(proc.resolve(Long.toString(pid)).resolve("task").resolve(Long.toString(thread)));
        Files.writeString(task.resolve("children"), children.isEmpty() ? "" : children + " ");
    }

    private static Path manifest(Path containers, long launcherPid, int version) throws IOException {
        Path directory = Files.createDirectories(containers.resolve(Long.toString(launcherPid)));
        return Files.writeString(directory.resolve("manifest.json"), "{\"version\":" + version + ",\"init-pid\":" + (launcherPid + 1)
                + ",\"uid\":0,\"gid\":0,\"root\":\"/run/lifeboat/containers/" + launcherPid + "/root\",\"netns\":null,"
                + "\"skeleton\":[{\"path\":\"/usr\",\"type\":\"directory\"}],"
                + "\"mounts\":[{\"key\":\"usr\",\"source\":\"/usr\",\"target\":\"/usr\",\"read-only\":true}],"
                + "\"chdir\":\"/tmp\",\"stdout\":\"/dev/null\",\"stderr\":\"/dev/null\",\"exit-status-file\":null,"
                + "\"argv\":[\"/bin/true\"]}");
    }
}
