package org.lifeboat.agent.slurm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.FakeCommandRunner;

class SlurmClientTest {

    private static final List<String> SQUEUE_ON_NODE_7 = List.of("squeue", "--noheader", "--nodelist=node-7",
            "--states=RUNNING,COMPLETING,SUSPENDED,CONFIGURING", "--format=%A");

    private final FakeCommandRunner commands = new FakeCommandRunner();
    private final SlurmClient slurm = new SlurmClient(commands);

    @Test
    void asksSqueueForTheNodesActiveJobsByNumericId() throws Exception {
        commands.answer(0, "12\n", "");

        slurm.activeJobsOn("node-7");

        assertEquals(List.of(SQUEUE_ON_NODE_7), commands.commands());
        assertTrue(commands.timeouts().get(0).toSeconds() > 0, "squeue must run with a time limit");
    }

    @Test
    void jobsNotOverAreEveryJobOfTheClusterNotInAFinalState() throws Exception {
        commands.answer(0, "12 RUNNING\n13 PENDING\n14 COMPLETED\n15 CANCELLED\n  16 SUSPENDED\n17 NODE_FAIL\n18 COMPLETING\n", "");

        assertEquals(Set.of(12L, 13L, 16L, 18L), slurm.jobsNotOver());
        assertEquals(List.of(List.of("squeue", "--noheader", "--states=all", "--format=%A %T")), commands.commands());
    }

    @Test
    void jobsNotOverRefusesALineItCannotRead() {
        commands.answer(0, "12 RUNNING\nJOBID STATE\n", "");

        assertThrows(CommandException.class, slurm::jobsNotOver);
    }

    @Test
    void parsesOneIdPerLineIgnoringPaddingAndBlankLines() throws Exception {
        commands.answer(0, "  345\n12\n\n      7 \n4294967295\n", "");

        assertEquals(Set.of(7L, 12L, 345L, 4294967295L), slurm.activeJobsOn("node-7"));
    }

    @Test
    void noOutputMeansNoActiveJobs() throws Exception {
        commands.answer(0, "", "");

        assertEquals(Set.of(), slurm.activeJobsOn("node-7"));
    }

    @Test
    void anUnexpectedLineIsRefusedRatherThanSkipped() {
        commands.answer(0, "12\n123_4\n", "");

        CommandException error = assertThrows(CommandException.class, () -> slurm.activeJobsOn("node-7"));

        assertTrue(error.getMessage().contains("unexpected line: 123_4"), error.getMessage());
    }

    @Test
    void aHeaderLineIsAnUnexpectedLine() {
        commands.answer(0, "JOBID\n12\n", "");

        assertThrows(CommandException.class, () -> slurm.activeJobsOn("node-7"));
    }

    @Test
    void aFailingSqueueIsACommandExceptionQuotingItsError() {
        commands.answer(1, "", "slurm_load_jobs error: Unable to contact slurm controller\n");

        CommandException error = assertThrows(CommandException.class, () -> slurm.activeJobsOn("node-7"));

        assertTrue(error.getMessage().contains("Unable to contact slurm controller"), error.getMessage());
    }
}
