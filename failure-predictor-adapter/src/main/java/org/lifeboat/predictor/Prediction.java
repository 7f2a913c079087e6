package org.lifeboat.predictor;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * One warning that a node will fail.
 *
 * @param node       the Slurm node name, already checked to exist
 * @param deadline   when the node is expected to fail: every migratable job should be off it by then
 * @param confidence how sure the predictor is, from 0 to 1
 * @param source     which intake it came through
 * @param reason     a short human text, shown in the drain reason and in logs
 * @param dedupKey   the same key for the same underlying warning however often it is repeated
 *                   (an alert's fingerprint, the node for a local detector), so repeats are recognised
 */
public record Prediction(String node, Instant deadline, double confidence, PredictionSource source, String reason,
                         String dedupKey) {

    /** Longest reason kept: it ends up in Slurm's node reason, which is meant for one short line. */
    public static final int MAX_REASON_LENGTH = 160;

    public Prediction {
        NodeNames.require(node);
        Objects.requireNonNull(deadline, "deadline");
        if (!(confidence >= 0 && confidence <= 1)) {
            throw new IllegalArgumentException("confidence must be between 0 and 1, got " + confidence);
        }
        Objects.requireNonNull(source, "source");
        reason = oneShortLine(Objects.requireNonNull(reason, "reason"), MAX_REASON_LENGTH);
        Objects.requireNonNull(dedupKey, "dedupKey");
        if (dedupKey.isEmpty()) {
            throw new IllegalArgumentException("dedupKey must not be empty");
        }
    }

    /** A prediction made now for a failure {@code leadTime} from now. */
    public static Prediction within(String node, Duration leadTime, Instant now, double confidence, PredictionSource source,
                                    String reason, String dedupKey) {
        return new Prediction(node, now.plus(leadTime), confidence, source, reason, dedupKey);
    }

    /**
     * The reason as one printable line of bounded length: it comes from outside (alert annotations, HTTP
     * bodies) and goes into Slurm's node reason and into log lines.
     */
    static String oneShortLine(String text, int maxLength) {
        StringBuilder line = new StringBuilder();
        text.codePoints().forEach(c -> line.appendCodePoint(Character.isISOControl(c) || Character.isWhitespace(c) ? ' ' : c));
        String collapsed = line.toString().replaceAll(" {2,}", " ").strip();
        if (collapsed.codePointCount(0, collapsed.length()) <= maxLength) {
            return collapsed;
        }
        return collapsed.substring(0, collapsed.offsetByCodePoints(0, maxLength - 1)) + "…";
    }
}
