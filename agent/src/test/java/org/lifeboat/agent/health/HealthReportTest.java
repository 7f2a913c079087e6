package org.lifeboat.agent.health;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class HealthReportTest {

    private static final HealthReport ALL_READY = HealthReport.all(DependencyState.ready("fine"));

    @Test
    void readyWhenEveryDependencyIsAndThenThereIsNoReason() {
        assertTrue(ALL_READY.ready());
        assertEquals(Optional.empty(), ALL_READY.reason());
    }

    @Test
    void oneDependencyNotReadyMakesTheReportNotReadyAndTheReasonNamesIt() {
        HealthReport report = ALL_READY.with(Dependency.SLURM, DependencyState.notReady("scontrol ping exited 1"));

        assertFalse(report.ready());
        assertEquals(Optional.of("slurm: scontrol ping exited 1"), report.reason());
        assertTrue(ALL_READY.ready(), "with() leaves the report it was called on as it was");
    }

    @Test
    void theReasonListsEveryDependencyNotReadyInTheEnumsOrder() {
        HealthReport report = ALL_READY
                .with(Dependency.CHECKPOINT_DIRECTORY, DependencyState.notReady("/ckpt does not exist"))
                .with(Dependency.CRIU, DependencyState.notReady("no usable CRIU"));

        assertEquals(Optional.of("criu: no usable CRIU; checkpoint-directory: /ckpt does not exist"), report.reason());
        assertEquals(List.of(Dependency.CRIU, Dependency.MUNGE, Dependency.SLURM, Dependency.CHECKPOINT_DIRECTORY),
                List.copyOf(report.dependencies().keySet()));
    }

    @Test
    void aReportMustSayEveryDependencysState() {
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> new HealthReport(Map.of(Dependency.CRIU, DependencyState.ready("fine"))));

        assertEquals("no state for munge", missing.getMessage());
    }

    @Test
    void dependenciesHaveTheLabelsHealthAndTheGaugeUse() {
        assertEquals(List.of("criu", "munge", "slurm", "checkpoint-directory"),
                List.of(Dependency.values()).stream().map(Dependency::label).toList());
    }
}
