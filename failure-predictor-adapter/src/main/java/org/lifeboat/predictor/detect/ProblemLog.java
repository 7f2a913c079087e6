package org.lifeboat.predictor.detect;

import java.util.Objects;
import java.util.logging.Logger;

/**
 * Logs a detector's problem once, not every poll: again only when it changes, and once when it is gone.
 * A node without EDAC or a BMC would otherwise write the same line every minute forever.
 */
final class ProblemLog {

    private final Logger log;
    private final String detector;
    private String current;

    ProblemLog(Logger log, String detector) {
        this.log = Objects.requireNonNull(log, "log");
        this.detector = Objects.requireNonNull(detector, "detector");
    }

    void problem(String problem) {
        if (!problem.equals(current)) {
            log.warning(detector + ": " + problem + " (logged once until it changes)");
            current = problem;
        }
    }

    void fine() {
        if (current != null) {
            log.info(detector + ": working again");
            current = null;
        }
    }
}
