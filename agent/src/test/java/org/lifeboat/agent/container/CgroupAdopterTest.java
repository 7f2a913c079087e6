package org.lifeboat.agent.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
}
