package org.lifeboat.agent.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * /proc/PID/cgroup texts as Slurm 22.05 leaves them. cgroup v2: src/plugins/cgroup/v2/cgroup_v2.c
 * (job_%u/step_%s/{slurm,user/task_%u,user/task_special} below
 * {@code <mount>/system.slice/slurmstepd.scope}, {@code NODE_slurmstepd.scope} with several slurmd)
 * and doc/html/cgroup_v2.shtml, whose {@code systemctl status slurmstepd.scope} shows job_3385's
 * step_0, step_extern and step_interactive each with slurm/ and user/task_0, and the
 * gamba1_slurmstepd.scope of a multiple-slurmd node; slurmd in {@code 0::/system.slice/slurmd.service}
 * (cgroup_v2.c, _get_self_cg_path). A v2 node lists that single line. cgroup v1 beside the unified
 * hierarchy: the nine v1 hierarchies and 0:: of the project's Debian 12 machines, and the testbed's
 * {@code freezer:/slurm_n1/uid_0/job_8/step_batch} (FIELD-NOTES). The delegated subtree
 * {@code user@UID.service} is what systemd hands every logged-in user.
 */
class ProcessCgroupsTest {

    static final String V2_BATCH_TASK = "0::/system.slice/slurmstepd.scope/job_3385/step_batch/user/task_0\n";

    @TempDir
    Path proc;

    /** The test machines' hierarchies, Slurm's v1 PATH in each controller's, UNIFIED in the v2 one. */
    static String hybrid(String path, String unified) {
        return "9:name=systemd:/\n8:pids:" + path + "\n7:blkio:" + path + "\n6:freezer:" + path + "\n5:devices:" + path
                + "\n4:memory:" + path + "\n3:cpuset:" + path + "\n2:cpuacct:" + path + "\n1:cpu:" + path + "\n0::" + unified + "\n";
    }

    @Test
    void aV2NodeListsTheUnifiedHierarchyAlone() {
        ProcessCgroups task = ProcessCgroups.parse(V2_BATCH_TASK);

        assertTrue(task.unified());
        assertEquals(List.of(new ProcessCgroups.Line("0", "", "/system.slice/slurmstepd.scope/job_3385/step_batch/user/task_0")),
                task.lines());
        assertFalse(ProcessCgroups.parse(hybrid("/slurm_n1/uid_0/job_8/step_batch", "/")).unified());
        assertFalse(ProcessCgroups.parse("4:memory:/slurm/uid_1000/job_42/step_0\n").unified());
    }

    @Test
    void everyProcessSlurmsCgroupV2PutsInTheJobIsTheJobs() {
        for (String path : List.of("job_3385/step_0/user/task_0", "job_3385/step_extern/user/task_0",
                "job_3385/step_interactive/user/task_0", "job_3385/step_batch/user/task_special", "job_3385/step_0/slurm")) {
            assertTrue(ProcessCgroups.parse("0::/system.slice/slurmstepd.scope/" + path + "\n").isInJob(3385), path);
        }
        assertTrue(ProcessCgroups.parse("0::/system.slice/gamba1_slurmstepd.scope/job_3385/step_0/user/task_0\n").isInJob(3385),
                "a multiple-slurmd node's scope");
    }

    @Test
    void onV2TheJobIsOnlyWhereSlurmPutsIt() {
        assertFalse(ProcessCgroups.parse(V2_BATCH_TASK).isInJob(338));
        assertFalse(ProcessCgroups.parse(V2_BATCH_TASK).isInJob(33850));
        assertFalse(ProcessCgroups.parse("0::/system.slice/slurmstepd.scope/system\n").isInJob(3385), "stepd's waiting area");
        assertFalse(ProcessCgroups.parse("0::/system.slice/slurmd.service\n").isInJob(3385), "slurmd");
        assertFalse(ProcessCgroups.parse("0::/user.slice/user-1000.slice/user@1000.service/app.slice/job_3385\n").isInJob(3385),
                "a directory the user named job_3385 in their delegated subtree");
        assertFalse(ProcessCgroups.parse(
                "0::/user.slice/user-1000.slice/user@1000.service/system.slice/slurmstepd.scope/job_3385/step_0\n").isInJob(3385),
                "Slurm's layout imitated in the user's delegated subtree");
        assertFalse(ProcessCgroups.parse("0::/system.slice/slurmstepd.scope/job_1/job_3385\n").isInJob(3385),
                "below another job");
    }

    @Test
    void onV1AnyHierarchyWithTheJobsDirectoryCountsAsBefore() {
        ProcessCgroups batch = ProcessCgroups.parse(hybrid("/slurm_n1/uid_0/job_8/step_batch", "/"));

        assertTrue(batch.isInJob(8));
        assertFalse(batch.isInJob(80));
        assertEquals(8, batch.inJob(8).size(), "every v1 controller's hierarchy, not name=systemd's nor the unified one");
        assertTrue(ProcessCgroups.parse(hybrid("/", "/lifeboat-shared.77/job_910/step_0")).isInJob(910),
                "the launcher tests' job cgroups in the unified hierarchy of a v1 node");
    }

    @Test
    void anEndedProcessHasNone() throws Exception {
        assertEquals(Optional.empty(), ProcessCgroups.of(proc, 77));

        Files.createDirectories(proc.resolve("77"));
        Files.writeString(proc.resolve("77/cgroup"), V2_BATCH_TASK);
        assertTrue(ProcessCgroups.of(proc, 77).orElseThrow().isInJob(3385));
    }
}
