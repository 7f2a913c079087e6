package org.lifeboat.agent.health;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.process.FakeCommandRunner;
import org.lifeboat.agent.slurm.SlurmClient;

class SlurmCheckTest {

    private final FakeCommandRunner commands = new FakeCommandRunner();
    private final SlurmCheck check = new SlurmCheck(new SlurmClient(commands));

    @Test
    void aControllerThatAnswersIsReadyAndNamed() {
        commands.answer(0, "Slurmctld(primary) at ctl1 is UP\n", "");

        assertEquals(DependencyState.ready("Slurmctld(primary) at ctl1 is UP"), check.check());
        assertEquals(List.of(List.of("scontrol", "ping")), commands.commands());
    }

    @Test
    void aBackupThatAnswersWhileThePrimaryIsDownIsEnough() {
        commands.answer(0, "Slurmctld(primary) at ctl1 is DOWN\nSlurmctld(backup) at ctl2 is UP\n", "");

        assertEquals(DependencyState.ready("Slurmctld(primary) at ctl1 is DOWN; Slurmctld(backup) at ctl2 is UP"), check.check());
    }

    @Test
    void noControllerAnsweringIsNotReadyWithScontrolsLinesAndWithoutRootsBanner() {
        commands.answer(1, "Slurmctld(primary) at ctl1 is DOWN\n*****************************************\n"
                + "** RESTORE SLURMCTLD DAEMON TO SERVICE **\n*****************************************\n", "");

        assertEquals(DependencyState.notReady("scontrol ping exited 1: Slurmctld(primary) at ctl1 is DOWN"), check.check());
    }

    @Test
    void aPingThatMungeRefusesSaysSo() {
        commands.answer(1, "Slurmctld(primary) at ctl1 is DOWN\n",
                "scontrol: error: If munged is up, restart with --num-threads=10\n"
                + "scontrol: error: Munge encode failed: Failed to access \"/run/munge/munge.socket.2\": No such file or directory\n");

        assertEquals(DependencyState.notReady("scontrol ping exited 1: Slurmctld(primary) at ctl1 is DOWN; scontrol: error:"
                + " Munge encode failed: Failed to access \"/run/munge/munge.socket.2\": No such file or directory"), check.check());
    }

    @Test
    void aMissingScontrolIsNotReady() {
        commands.failToRun("cannot run scontrol: No such file or directory");

        assertEquals(DependencyState.notReady("cannot run scontrol: No such file or directory"), check.check());
    }
}
