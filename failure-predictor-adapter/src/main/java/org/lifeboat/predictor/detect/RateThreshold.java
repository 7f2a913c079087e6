package org.lifeboat.predictor.detect;

import java.time.Duration;

/** Thresholds are "so many per interval"; a poll that comes late is allowed proportionally more. */
final class RateThreshold {

    private RateThreshold() {}

    static boolean reached(long count, long perInterval, Duration interval, Duration elapsed) {
        if (count <= 0) {
            return false;
        }
        double allowed = (double) perInterval * Math.max(elapsed.toMillis(), interval.toMillis()) / interval.toMillis();
        return count >= allowed;
    }
}
