package org.lifeboat.agent.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CgroupAdopterTest {

    @TempDir
    Path temporary;

    @Test
    void theContainerJoinsEveryCgroupOfTheTaskInSlurmsTreeForTheJob() throws Exception {
        Path proc = temporary.resolve("proc");
        Path cgroups = temporary.resolve("cgroup");
        Files.createDirectories(proc.resolve("self"));
        Files.createDirectories(proc.resolve("77"));
        Files.writeString(proc.resolve("self/mountinfo"), String.join("\n",
                "30 25 0:26 / " + cgroups.resolve("freezer") + " rw,nosuid - cgroup cgroup rw,freezer",
                "31 25 0:27 / " + cgroups.resolve("cpu,cpuacct") + " rw,nosuid - cgroup cgroup rw,cpu,cpuacct",
                "32 25 0:28 / " + cgroups.resolve("systemd") + " rw,nosuid - cgroup cgroup rw,xattr,name=systemd",
                "33 25 0:29 / " + cgroups.resolve("unified") + " rw,nosuid - cgroup2 cgroup2 rw", ""));
        Files.writeString(proc.resolve("77/cgroup"), String.join("\n",
                "9:freezer:/slurm_node2/uid_0/job_5/step_batch",
                "4:cpu,cpuacct:/slurm_node2/uid_0/job_5/step_batch/task_0",
                "1:name=systemd:/user.slice",
                "0::/user.slice", ""));
        Path freezer = Files.createDirectories(cgroups.resolve("freezer/slurm_node2/uid_0/job_5/step_batch"));
        Path cpu = Files.createDirectories(cgroups.resolve("cpu,cpuacct/slurm_node2/uid_0/job_5/step_batch/task_0"));

        int joined = new CgroupAdopter(proc).adopt(List.of(101L), 77, 5);

        assertEquals(2, joined, "only the hierarchies where Slurm tracks job 5");
        assertEquals("101", Files.readString(freezer.resolve("cgroup.procs")));
        assertEquals("101", Files.readString(cpu.resolve("cgroup.procs")));
    }

    @Test
    void aHierarchyThatIsNotMountedIsAnError() throws Exception {
        Path proc = temporary.resolve("proc");
        Files.createDirectories(proc.resolve("self"));
        Files.createDirectories(proc.resolve("77"));
        Files.writeString(proc.resolve("self/mountinfo"), "");
        Files.writeString(proc.resolve("77/cgroup"), "9:freezer:/slurm/uid_0/job_5/step_batch\n");

        assertThrows(java.io.IOException.class, () -> new CgroupAdopter(proc).adopt(List.of(101L), 77, 5));
    }

    /**
     * A cgroup v2 node as systemd mounts it (src/shared/mount-setup.c: cgroup2 on /sys/fs/cgroup,
     * nosuid,nodev,noexec, "nsdelegate,memory_recursiveprot") and the tree Slurm 22.05's cgroup/v2
     * makes for job 5's batch step (src/plugins/cgroup/v2/cgroup_v2.c): controllers enabled for the
     * children of the scope, job, step and user/ directories (doc/html/cgroup_v2.shtml shows the
     * scope's "cpuset cpu memory"), none in the leaves slurm/ and user/task_0 that hold processes.
     */
    private Path cgroupV2Node(String taskCgroup) throws IOException {
        Path proc = temporary.resolve("proc");
        Path cgroups = temporary.resolve("cgroup");
        Files.createDirectories(proc.resolve("self"));
        Files.createDirectories(proc.resolve("77"));
        Files.writeString(proc.resolve("self/mountinfo"), String.join("\n",
                "24 1 259:2 / / rw,relatime shared:1 - xfs /dev/nvme0n1p2 rw,seclabel,attr2,inode64,noquota",
                "35 26 0:30 / " + cgroups + " rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot",
                ""));
        Files.writeString(proc.resolve("77/cgroup"), taskCgroup);
        Path step = cgroups.resolve("system.slice/slurmstepd.scope/job_5/step_batch");
        for (Path parent : List.of(step.getParent().getParent(), step.getParent(), step, step.resolve("user"))) {
            cgroup(parent, "cpuset cpu memory\n", "");
        }
        cgroup(step.resolve("slurm"), "", "4242\n");
        cgroup(step.resolve("user/task_0"), "", "77\n");
        return proc;
    }

    private static void cgroup(Path directory, String subtreeControl, String procs) throws IOException {
        Files.createDirectories(directory);
        Files.writeString(directory.resolve("cgroup.subtree_control"), subtreeControl);
        Files.writeString(directory.resolve("cgroup.procs"), procs);
    }

    private Path v2Step() {
        return temporary.resolve("cgroup/system.slice/slurmstepd.scope/job_5/step_batch");
    }

    @Test
    void onCgroupV2TheContainerJoinsTheTasksLeaf() throws Exception {
        Path proc = cgroupV2Node("0::/system.slice/slurmstepd.scope/job_5/step_batch/user/task_0\n");

        int joined = new CgroupAdopter(proc).adopt(List.of(101L), 77, 5);

        assertEquals(1, joined, "v2 has one hierarchy");
        assertEquals("101", Files.readString(v2Step().resolve("user/task_0/cgroup.procs")));
        assertEquals("", Files.readString(v2Step().resolve("user/cgroup.procs")));
    }

    @Test
    void onCgroupV2ACgroupThatEnablesControllersForItsChildrenIsRefusedBeforeAnyPidMoves() throws Exception {
        // Slurm never leaves a task there; the kernel would answer EBUSY to the first pid, after others moved.
        Path proc = cgroupV2Node("0::/system.slice/slurmstepd.scope/job_5/step_batch/user\n");

        IOException refused = assertThrows(IOException.class, () -> new CgroupAdopter(proc).adopt(List.of(101L, 102L), 77, 5));

        assertTrue(refused.getMessage().contains("only in leaves"), refused.getMessage());
        assertEquals("", Files.readString(v2Step().resolve("user/cgroup.procs")));
    }

    @Test
    void onCgroupV2ATaskOutsideSlurmsTreeJoinsNothing() throws Exception {
        Path delegated = temporary.resolve("cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/job_5");
        Path proc = cgroupV2Node("0::/user.slice/user-1000.slice/user@1000.service/app.slice/job_5\n");
        cgroup(delegated, "", "77\n");

        assertEquals(0, new CgroupAdopter(proc).adopt(List.of(101L), 77, 5));

        assertEquals("77\n", Files.readString(delegated.resolve("cgroup.procs")));
    }

    @Test
    void onCgroupV2AMissingCgroupIsAnError() throws Exception {
        Path proc = cgroupV2Node("0::/system.slice/slurmstepd.scope/job_5/step_batch/user/task_1\n");

        IOException missing = assertThrows(IOException.class, () -> new CgroupAdopter(proc).adopt(List.of(101L), 77, 5));

        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
        assertFalse(Files.exists(v2Step().resolve("user/task_1")));
    }
}
