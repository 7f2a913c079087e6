package org.lifeboat.agent.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The locator walks a fake /proc: task pid → children → lifeboat-run, whose state directory holds
 * the manifest; the init the manifest names must still be that container's.
 */
public class ContainerLocatorTest {

    private static final long JOB = 42;
    private static final int OWNER = 1000;
    public static final long INIT_START = 123456;
    private static final String JOB_CGROUP = "0::/system.slice/slurmstepd.scope/job_42/step_batch/user/task_0\n";

    @TempDir
    Path root;

    private Path proc;
    private Path containers;

    @BeforeEach
    void taskRunsALauncher() throws IOException {
        proc = root.resolve("proc");
        containers = root.resolve("containers");
        process(proc, 100, 100, "200 201");
        process(proc, 201, 201, "");
        process(proc, 200, 200, "");
        process(proc, 200, 202, "300"); // a second thread of 200 with its own child
        process(proc, 300, 300, "301");
    }

    @Test
    void findsTheContainerStartedBelowATaskProcess() throws IOException {
        init(301, 300, OWNER, INIT_START, JOB_CGROUP);
        manifest(containers, 300, ContainerManifest.SUPPORTED_VERSION, OWNER);

        Optional<ContainerLocator.LocatedContainer> found = locate();

        assertTrue(found.isPresent());
        assertEquals(300, found.get().launcherPid());
        assertEquals(301, found.get().manifest().initPid());
        assertEquals("/usr", found.get().manifest().externalMountsForRestore().get("usr"));
        assertEquals("usr", found.get().manifest().externalMountsForDump().get("/usr"));
    }

    @Test
    void aJobWithoutAContainerHasNone() throws IOException {
        assertEquals(Optional.empty(), new ContainerLocator(containers, proc).find(List.of(100L, 999L), JOB, OWNER));
    }

    @Test
    void aManifestOfAnotherUserIsPassedOver() throws IOException {
        assertPassedOver(300, 2000, INIT_START, JOB_CGROUP, 2000);
    }

    @Test
    void anInitPidReusedByAnotherProcessIsPassedOver() throws IOException {
        // The launcher was killed with its container; the pid now belongs to a later process of the owner's.
        assertPassedOver(300, OWNER, INIT_START + 500, JOB_CGROUP, OWNER);
    }

    @Test
    void anInitOfAnotherUserIsPassedOver() throws IOException {
        assertPassedOver(300, 0, INIT_START, JOB_CGROUP, OWNER);
    }

    @Test
    void anInitThatIsNotTheLaunchersChildIsPassedOver() throws IOException {
        assertPassedOver(1, OWNER, INIT_START, JOB_CGROUP, OWNER);
    }

    @Test
    void anInitOutsideTheJobsCgroupIsPassedOver() throws IOException {
        assertPassedOver(300, OWNER, INIT_START, "0::/system.slice/slurmstepd.scope/job_43/step_batch/user/task_0\n", OWNER);
    }

    @Test
    void onCgroupV2AnInitInADirectoryTheOwnerNamedAfterTheJobIsPassedOver() throws IOException {
        // systemd delegates user@UID.service to its user, who may name cgroups there as they like.
        assertPassedOver(300, OWNER, INIT_START, "0::/user.slice/user-1000.slice/user@1000.service/app.slice/job_42/step_batch\n",
                OWNER);
    }

    @Test
    void aTaskStartedInAContainerAnotherLauncherOfTheJobBuiltFindsThatContainer() throws IOException {
        init(301, 300, OWNER, INIT_START, JOB_CGROUP);
        manifest(containers, 300, ContainerManifest.SUPPORTED_VERSION, OWNER);
        // Task 100's launcher 201 joined the container lifeboat-run 300 built (launcher/README.md).
        Files.createDirectories(containers.resolve("201"));
        Files.writeString(containers.resolve("201").resolve("task"), "init-pid=301\ninit-start=" + INIT_START + "\ntask-pid=9\n");

        Optional<ContainerLocator.LocatedContainer> found = new ContainerLocator(containers, proc).find(List.of(201L), JOB, OWNER);

        assertEquals(300, found.orElseThrow().launcherPid());
        assertEquals(301, found.get().manifest().initPid());
    }

    @Test
    void aTaskFileNamingAnInitWithAnotherStartTimeFindsNothing() throws IOException {
        init(301, 300, OWNER, INIT_START, JOB_CGROUP);
        manifest(containers, 300, ContainerManifest.SUPPORTED_VERSION, OWNER);
        Files.createDirectories(containers.resolve("201"));
        Files.writeString(containers.resolve("201").resolve("task"), "init-pid=301\ninit-start=" + (INIT_START + 1) + "\n");

        assertEquals(Optional.empty(), new ContainerLocator(containers, proc).find(List.of(201L), JOB, OWNER));
    }

    @Test
    void anEndedInitIsPassedOver() throws IOException {
        manifest(containers, 300, ContainerManifest.SUPPORTED_VERSION, OWNER);

        assertEquals(Optional.empty(), locate());
    }

    @Test
    void aManifestOfAnotherVersionIsRefused() throws IOException {
        init(301, 300, OWNER, INIT_START, JOB_CGROUP);
        manifest(containers, 300, 1, OWNER);

        IOException error = assertThrows(IOException.class, this::locate);

        assertTrue(error.getMessage().contains("manifest version 1"), error.getMessage());
    }

    @Test
    void aManifestOfANewerVersionIsRefused() throws IOException {
        init(301, 300, OWNER, INIT_START, JOB_CGROUP);
        manifest(containers, 300, ContainerManifest.SUPPORTED_VERSION + 1, OWNER);

        IOException error = assertThrows(IOException.class, this::locate);

        assertTrue(error.getMessage().contains("reads versions 3 to " + ContainerManifest.SUPPORTED_VERSION), error.getMessage());
    }

    @Test
    void aVersion3ManifestOfAContainerStartedBeforeAnUpgradeIsReadWithTheNodesNetwork() throws IOException {
        init(301, 300, OWNER, INIT_START, JOB_CGROUP);
        manifest(containers, 300, 3, OWNER);

        ContainerManifest found = locate().orElseThrow().manifest();

        assertEquals(3, found.version());
        assertFalse(found.hasOwnNetwork());
    }

    /** A manifest of manifestUid's naming init 301 as given: not the job's container, so none is found. */
    private void assertPassedOver(long initParent, int initUid, long initStart, String initCgroup, int manifestUid)
            throws IOException {
        init(301, initParent, initUid, initStart, initCgroup);
        manifest(containers, 300, ContainerManifest.SUPPORTED_VERSION, manifestUid);

        assertEquals(Optional.empty(), locate());
    }

    private Optional<ContainerLocator.LocatedContainer> locate() throws IOException {
        return new ContainerLocator(containers, proc).find(List.of(100L), JOB, OWNER);
    }

    @Test
    void aManifestOfTheLargestSizeIsReadAndOneByteMoreIsRefused() throws IOException {
        init(301, 300, OWNER, INIT_START, JOB_CGROUP);
        Path file = manifest(containers, 300, ContainerManifest.SUPPORTED_VERSION, OWNER);
        String written = Files.readString(file);
        String padded = written.substring(0, written.length() - 1) + " ".repeat(ContainerManifest.MAX_BYTES - written.length()) + "}";
        Files.writeString(file, padded);

        assertEquals(301, locate().orElseThrow().manifest().initPid());

        Files.writeString(file, padded + " ");
        IOException error = assertThrows(IOException.class, this::locate);
        assertTrue(error.getMessage().endsWith("has " + (ContainerManifest.MAX_BYTES + 1) + " bytes, more than the "
                + ContainerManifest.MAX_BYTES + " a migration can carry"), error.getMessage());
    }

    public static void process(Path proc, long pid, long thread, String children) throws IOException {
        Path task = Files.createDirectories(proc.resolve(Long.toString(pid)).resolve("task").resolve(Long.toString(thread)));
        Files.writeString(task.resolve("children"), children.isEmpty() ? "" : children + " ");
    }

    /** The container init's stat (start time in field 22), status (parent and uids) and cgroup. */
    private void init(long pid, long parent, int uid, long startTime, String cgroup) throws IOException {
        init(proc, pid, parent, uid, startTime, cgroup);
    }

    public static void init(Path proc, long pid, long parent, int uid, long startTime, String cgroup) throws IOException {
        Path directory = Files.createDirectories(proc.resolve(Long.toString(pid)));
        StringBuilder stat = new StringBuilder(pid + " (lifeboat-init) S " + parent);
        for (int field = 5; field <= 21; field++) {
            stat.append(" 0");
        }
        Files.writeString(directory.resolve("stat"), stat + " " + startTime + " 4096 100\n");
        Files.writeString(directory.resolve("status"), "Name:\tlifeboat-init\nPPid:\t" + parent + "\nUid:\t" + uid + "\t" + uid
                + "\t" + uid + "\t" + uid + "\n");
        Files.writeString(directory.resolve("cgroup"), cgroup);
    }

    public static Path manifest(Path containers, long launcherPid, int version, int uid) throws IOException {
        Path directory = Files.createDirectories(containers.resolve(Long.toString(launcherPid)));
        return Files.writeString(directory.resolve("manifest.json"), "{\"version\":" + version + ",\"init-pid\":" + (launcherPid + 1)
                + ",\"init-start\":" + INIT_START + ",\"uid\":" + uid + ",\"gid\":" + uid + ",\"root\":\"/run/lifeboat/containers/"
                + launcherPid + "/root\",\"netns\":null,"
                + "\"skeleton\":[{\"path\":\"/usr\",\"type\":\"directory\"}],"
                + "\"mounts\":[{\"key\":\"usr\",\"source\":\"/usr\",\"target\":\"/usr\",\"read-only\":true}],"
                + "\"chdir\":\"/tmp\",\"stdout\":\"/dev/null\",\"stderr\":\"/dev/null\",\"exit-status-file\":null,"
                + "\"argv\":[\"/bin/true\"]}");
    }
}
