package org.lifeboat.agent.slurm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.LocalDateTime;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.FakeCommandRunner;

/** Reading a job from scontrol, and letting Slurm's own placement choose a migration target. */
class SlurmTargetChoiceTest {

    // Recorded from `scontrol --oneliner show job` on the testbed (Slurm 22.05.8), shortened.
    private static final String JOB_LINE = "JobId=11 JobName=wrap UserId=root(0) GroupId=root(0) Priority=4294901750"
            + " JobState=RUNNING Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0"
            + " Partition=batch AllocNode:Sid=vm:1234 ReqNodeList=node1 ExcNodeList=(null) NodeList=node1"
            + " NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 MinCPUsNode=1 MinMemoryCPU=256M MinTmpDiskNode=0"
            + " Features=(null) DelayBoot=00:00:00 Command=(null) WorkDir=/tmp/with space AdminComment=lifeboat-migrated:a->b";
    private static final LocalDateTime NOW = LocalDateTime.of(2026, 11, 22, 4, 11, 36);

    private final FakeCommandRunner commands = new FakeCommandRunner();
    private final SlurmClient slurm = new SlurmClient(commands, () -> NOW);

    @Test
    void aJobLineGivesWhatPlacementAndRequeueNeed() {
        SlurmJob job = SlurmJob.parse(JOB_LINE);
        assertEquals(11, job.id());
        assertEquals("RUNNING", job.state());
        assertEquals("batch", job.partition());
        assertEquals("node1", job.nodeList());
        assertEquals(1, job.cpus());
        assertEquals("256M", job.memoryPerCpu());
        assertNull(job.memoryPerNode(), "MinMemoryNode is absent");
        assertNull(job.features(), "(null) means no constraint");
        assertTrue(job.batch());
        assertTrue(job.requeueable());
        assertEquals(0, job.restarts());
        assertEquals("lifeboat-migrated:a->b", job.adminComment());
    }

    @Test
    void aLineWithoutJobIdIsRefusedByName() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> SlurmJob.parse("slurm_load_jobs error: Invalid job id"))
                .getMessage().contains("JobId"));
    }

    @Test
    void theTestOnlyProbeCarriesTheJobsShapeAndExcludesTheSource() throws Exception {
        SlurmJob job = SlurmJob.parse(JOB_LINE.replace("MinMemoryCPU=256M", "MinMemoryNode=4G").replace("NumCPUs=1", "NumCPUs=4")
                .replace("Features=(null)", "Features=ib&avx2"));
        commands.answer(0, "", "sbatch: Job 12 to start at 2026-11-22T04:11:38 using 4 processors on nodes node2 in partition batch\n");

        assertEquals(Optional.of("node2"), slurm.chooseTarget(job, Set.of("node1", "node3")));
        assertEquals(List.of("sbatch", "--test-only", "--nodes=1", "--ntasks=1", "--cpus-per-task=4", "--partition=batch",
                "--mem=4G", "--constraint=ib&avx2", "--exclude=node1,node3", "--job-name=lifeboat-target-probe",
                "--output=/dev/null", "--wrap=true"), commands.commands().get(0));
    }

    @Test
    void aNodeFreeOnlyLaterIsNoTarget() throws Exception {
        commands.answer(0, "", "sbatch: Job 12 to start at 2026-11-22T06:00:00 using 1 processors on nodes node2 in partition batch\n");

        assertEquals(Optional.empty(), slurm.chooseTarget(SlurmJob.parse(JOB_LINE), Set.of("node1")));
    }

    @Test
    void noNodeThatFitsIsNoTarget() throws Exception {
        commands.answer(1, "", "sbatch: error: Batch job submission failed: Requested node configuration is not available\n");

        assertEquals(Optional.empty(), slurm.chooseTarget(SlurmJob.parse(JOB_LINE), Set.of("node1")));
    }

    @Test
    void aGarbledStartTimeIsAnError() {
        commands.answer(0, "", "sbatch: Job 12 to start at soon using 1 processors on nodes node2 in partition batch\n");

        assertThrows(CommandException.class, () -> slurm.chooseTarget(SlurmJob.parse(JOB_LINE), Set.of("node1")));
    }

    @Test
    void aRequeuedJobIsPinnedAndStartedOnlyOnceItIsPending() throws Exception {
        commands.answer(0, "COMPLETING\n", "").answer(0, "PENDING\n", "").answer(0, "", "").answer(0, "", "");

        slurm.startPendingJobOn(11, "node2", java.time.Duration.ofSeconds(5));

        List<List<String>> run = commands.commands();
        assertEquals(List.of("scontrol", "update", "jobid=11", "nodelist=node2"), run.get(2));
        assertEquals(List.of("scontrol", "update", "jobid=11", "starttime=now"), run.get(3));
    }

    @Test
    void drainedDrainingDownAndFailingNodesAreLeaving() {
        for (String state : List.of("IDLE+DRAIN", "MIXED+DRAIN", "DRAINED", "DRAINING", "DOWN", "DOWN+NOT_RESPONDING", "ALLOCATED+FAIL")) {
            assertTrue(SlurmClient.isLeaving(state), state);
        }
        for (String state : List.of("IDLE", "MIXED", "ALLOCATED", "IDLE+COMPLETING")) {
            assertFalse(SlurmClient.isLeaving(state), state);
        }
    }
}
