package org.lifeboat.agent.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class DependencyMonitorTest {

    private static final Duration NEVER_AGAIN = Duration.ofHours(1);

    // What each fake check answers next; a test changes them as the dependency would change.
    private final Map<Dependency, AtomicReference<DependencyState>> answers = new EnumMap<>(Dependency.class);
    private final AtomicInteger checksRun = new AtomicInteger();

    DependencyMonitorTest() {
        for (Dependency dependency : Dependency.values()) {
            answers.put(dependency, new AtomicReference<>(DependencyState.ready(dependency.label() + " is fine")));
        }
    }

    @Test
    void beforeAnyCheckEveryDependencyIsNotCheckedYet() {
        DependencyMonitor monitor = new DependencyMonitor(checks(), NEVER_AGAIN);

        assertFalse(monitor.report().ready());
        assertEquals(DependencyState.notReady("not checked yet"), monitor.report().state(Dependency.SLURM));
    }

    @Test
    void theFirstRoundRunsInStartSoTheFirstReportIsARealOne() {
        DependencyMonitor monitor = new DependencyMonitor(checks(), NEVER_AGAIN);

        monitor.start();
        try {
            assertTrue(monitor.report().ready(), monitor.report().toString());
            assertEquals(DependencyState.ready("munge is fine"), monitor.report().state(Dependency.MUNGE));
            assertEquals(Dependency.values().length, checksRun.get());
        } finally {
            monitor.stop();
        }
    }

    @Test
    void aDependencyLostShowsAtTheNextRoundAndSoDoesItsRecovery() {
        DependencyMonitor monitor = new DependencyMonitor(checks(), NEVER_AGAIN);
        monitor.checkAll();

        answers.get(Dependency.MUNGE).set(DependencyState.notReady("munge could not make a credential"));
        assertTrue(monitor.report().ready(), "the report changes at a round, not before");
        monitor.checkAll();

        assertFalse(monitor.report().ready());
        assertEquals(DependencyState.notReady("munge could not make a credential"), monitor.report().state(Dependency.MUNGE));
        assertTrue(monitor.report().state(Dependency.SLURM).ready());

        answers.get(Dependency.MUNGE).set(DependencyState.ready("munge is fine"));
        monitor.checkAll();
        assertTrue(monitor.report().ready());
    }

    @Test
    void aCheckThatThrowsCountsAsNotReadyAndTheOthersAreStillChecked() {
        Map<Dependency, DependencyCheck> checks = checks();
        checks.put(Dependency.SLURM, () -> {
            throw new IllegalStateException("scontrol printed nonsense");
        });
        DependencyMonitor monitor = new DependencyMonitor(checks, NEVER_AGAIN);

        monitor.checkAll();

        assertEquals(DependencyState.notReady("its check failed: java.lang.IllegalStateException: scontrol printed nonsense"),
                monitor.report().state(Dependency.SLURM));
        assertTrue(monitor.report().state(Dependency.CHECKPOINT_DIRECTORY).ready());
    }

    @Test
    @Timeout(10)
    void afterStartTheChecksRunAgainEveryIntervalUntilStop() throws Exception {
        DependencyMonitor monitor = new DependencyMonitor(checks(), Duration.ofMillis(20));
        monitor.start();
        answers.get(Dependency.CRIU).set(DependencyState.notReady("cannot run CRIU (/usr/sbin/criu)"));
        try {
            while (monitor.report().state(Dependency.CRIU).ready() || checksRun.get() < 3 * Dependency.values().length) {
                Thread.sleep(10);
            }
        } finally {
            monitor.stop();
        }
        int afterStop = checksRun.get();
        Thread.sleep(100);

        assertEquals(afterStop, checksRun.get(), "checks ran after stop");
        assertEquals(DependencyState.notReady("cannot run CRIU (/usr/sbin/criu)"), monitor.report().state(Dependency.CRIU));
    }

    @Test
    void everyDependencyNeedsACheck() {
        Map<Dependency, DependencyCheck> checks = checks();
        checks.remove(Dependency.CHECKPOINT_DIRECTORY);

        NullPointerException missing = assertThrows(NullPointerException.class, () -> new DependencyMonitor(checks, NEVER_AGAIN));

        assertEquals("no check for checkpoint-directory", missing.getMessage());
    }

    @Test
    void aDependencyNotUsedIsReadyAndSaysWhy() {
        assertEquals(DependencyState.ready("not used: peer.authentication is none"),
                DependencyCheck.notUsed("peer.authentication is none").check());
    }

    private Map<Dependency, DependencyCheck> checks() {
        Map<Dependency, DependencyCheck> checks = new EnumMap<>(Dependency.class);
        for (Dependency dependency : Dependency.values()) {
            checks.put(dependency, () -> {
                checksRun.incrementAndGet();
                return answers.get(dependency).get();
            });
        }
        return checks;
    }
}
