package org.lifeboat.agent.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.criu.CriuCapabilities;
import org.lifeboat.agent.criu.CriuReadiness;
import org.lifeboat.agent.process.FakeCommandRunner;

class CriuCheckTest {

    private static final String CRIU = "/usr/sbin/criu";
    private static final CriuReadiness PASSED = CriuReadiness.found(new CriuCapabilities("4.2.1", true, Map.of()));

    private final FakeCommandRunner commands = new FakeCommandRunner();

    @Test
    void aCriuThatPassedAtStartAndStillRunsIsReadyAndNamesItsVersion() {
        commands.answer(0, "Version: 4.2.1\n", "");

        DependencyState state = new CriuCheck(PASSED, CRIU, commands).check();

        assertEquals(DependencyState.ready("CRIU 4.2.1, `criu check` passed at the agent's start"), state);
        assertEquals(List.of(List.of(CRIU, "--version")), commands.commands(), "only the version: `criu check` is the start's");
    }

    @Test
    void aCriuThatPassedAtStartButNoLongerRunsIsNotReady() {
        commands.failToRun("No such file or directory");

        DependencyState state = new CriuCheck(PASSED, CRIU, commands).check();

        assertFalse(state.ready());
        assertEquals("cannot run CRIU (/usr/sbin/criu): No such file or directory (it passed `criu check` at the agent's start)",
                state.detail());
    }

    @Test
    void aCriuThatFailedItsCheckAtStartStaysNotReadyWithoutRunningIt() {
        CriuReadiness failed = CriuReadiness.found(new CriuCapabilities("4.1.1", false, Map.of()));

        DependencyState state = new CriuCheck(failed, CRIU, commands).check();

        assertFalse(state.ready());
        assertTrue(state.detail().startsWith("`criu check` failed with CRIU 4.1.1 (found at the agent's start: migrations"
                + " from and to this node are refused until it restarts)"), state.detail());
        assertEquals(List.of(), commands.commands());
    }

    @Test
    void aCriuMissingAtStartIsNotReadyWithTheProbesError() {
        CriuReadiness missing = CriuReadiness.missing("cannot run CRIU (/usr/sbin/criu): No such file or directory");

        DependencyState state = new CriuCheck(missing, CRIU, commands).check();

        assertFalse(state.ready());
        assertTrue(state.detail().startsWith("no usable CRIU: cannot run CRIU (/usr/sbin/criu)"), state.detail());
    }
}
