package org.lifeboat.agent.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.process.FakeCommandRunner;

class CriuReadinessTest {

    @Test
    void aCriuWithTheNftablesLockLocksWithNftables() {
        CriuReadiness readiness = CriuReadiness.found(capabilities(true, Map.of(CriuCapabilities.NFTABLES_NETWORK_LOCK, true)));

        assertEquals(NetworkLock.NFTABLES, readiness.networkLock());
    }

    @Test
    void aCriuWithoutTheNftablesLockLocksWithIptables() {
        CriuReadiness readiness = CriuReadiness.found(capabilities(true, Map.of(CriuCapabilities.NFTABLES_NETWORK_LOCK, false)));

        assertEquals(NetworkLock.IPTABLES, readiness.networkLock());
    }

    @Test
    void aPassedCheckLeavesMigrationsOpen() {
        assertEquals(Optional.empty(), CriuReadiness.found(capabilities(true, Map.of())).unusableBecause());
    }

    @Test
    void aFailedCheckClosesMigrationsAndSaysWhichCriuFailedIt() {
        assertEquals(Optional.of("`criu check` failed with CRIU 4.1.1"),
                CriuReadiness.found(capabilities(false, Map.of())).unusableBecause());
    }

    @Test
    void aCriuThatCannotRunClosesMigrationsWithTheProbesError() {
        FakeCommandRunner commands = new FakeCommandRunner().failToRun("No such file or directory");

        CriuReadiness readiness = CriuReadiness.probe("/opt/criu/sbin/criu", commands);

        assertEquals(Optional.empty(), readiness.capabilities());
        String reason = readiness.unusableBecause().orElseThrow();
        assertTrue(reason.startsWith("no usable CRIU: cannot run CRIU (/opt/criu/sbin/criu)"), reason);
    }

    private static CriuCapabilities capabilities(boolean checkPassed, Map<String, Boolean> features) {
        return new CriuCapabilities("4.1.1", checkPassed, features);
    }
}
