package org.lifeboat.agent.migration;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;

/** Runs a migration's phases one at a time, timing and logging each. */
final class PhaseTimer {

    private static final Logger LOG = Logger.getLogger(PhaseTimer.class.getName());

    private final String migrationId;
    private final Map<String, Long> millis = new LinkedHashMap<>();
    private FailureReason firstFailure;

    PhaseTimer(String migrationId) {
        this.migrationId = migrationId;
    }

    void run(MigrationPhase phase, PhaseAction action) throws Exception {
        long started = System.nanoTime();
        LOG.info(() -> "migration " + migrationId + ": " + phase + " started");
        try {
            action.run();
        } catch (Exception e) {
            long elapsed = (System.nanoTime() - started) / 1_000_000;
            millis.put(phase.wireName(), elapsed);
            if (firstFailure == null) {
                firstFailure = FailureReason.classify(phase, e);
            }
            LOG.warning("migration " + migrationId + ": " + phase + " failed after " + elapsed + " ms: " + e.getMessage());
            throw e;
        }
        long elapsed = (System.nanoTime() - started) / 1_000_000;
        millis.put(phase.wireName(), elapsed);
        LOG.info(() -> "migration " + migrationId + ": " + phase + " took " + elapsed + " ms");
    }

    Map<String, Long> millis() {
        return millis;
    }

    /** Why the first phase that failed failed: what the migration's outcome is put down to. Empty if none failed. */
    Optional<FailureReason> firstFailure() {
        return Optional.ofNullable(firstFailure);
    }

    @FunctionalInterface
    interface PhaseAction {
        void run() throws Exception;
    }
}
