package org.lifeboat.agent.migration;

import com.fasterxml.jackson.annotation.JsonValue;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.concurrent.TimeoutException;

/**
 * Why a migration failed, in a few fixed classes: the "reason" label of the outcome metric and the
 * report's {@code reason} (the report's {@code cause} keeps the whole message). A connection
 * that could not be made and a time limit that ran out are named whatever the phase; any other
 * failure is named after the phase it happened in.
 */
public enum FailureReason {
    /** The target's agent could not be connected to. */
    TARGET_UNREACHABLE,
    /** A time limit ran out: a CRIU run, a reply from the target, the page relay. */
    TIMEOUT,
    /** The target refused or failed to prepare (no room for the images, no page server). */
    PREPARE_FAILED,
    /** CRIU's dump failed, or the container was not frozen after it. */
    DUMP_FAILED,
    /** The image files did not reach the target intact. */
    TRANSFER_FAILED,
    /** The target could not restore the container, or it did not survive the restore. */
    RESTORE_FAILED,
    /** Slurm would not requeue the job (slurmctld unreachable, the job ended meanwhile): it stays where it was. */
    REQUEUE_FAILED,
    /** After the point of no return: the job moved, but its start on the target failed or lagged (resume, pin, start). */
    PLACE_FAILED,
    /** After the point of no return: the job moved, but something was left to clean up. */
    CLEANUP_FAILED,
    /** Post-copy: the job's memory stopped crossing while it ran on the target, which killed it (whatever the cause). */
    PAGES_LOST,
    /** Anything else. */
    OTHER;

    @JsonValue
    public String wireName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The reason for a failure of {@code phase}; {@code phase} is null when the failure came before any phase. */
    public static FailureReason classify(MigrationPhase phase, Throwable failure) {
        if (phase == MigrationPhase.FETCH_PAGES) {
            return PAGES_LOST;
        }
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof SocketTimeoutException || cause instanceof TimeoutException) {
                return TIMEOUT;
            }
            if (cause instanceof ConnectException || cause instanceof NoRouteToHostException
                    || cause instanceof UnknownHostException) {
                return TARGET_UNREACHABLE;
            }
        }
        if (phase == null) {
            return OTHER;
        }
        return switch (phase) {
            case PREPARE_TARGET -> PREPARE_FAILED;
            case DUMP -> DUMP_FAILED;
            case SEND_IMAGES -> TRANSFER_FAILED;
            case RESTORE, CONFIRM -> RESTORE_FAILED;
            case REQUEUE -> REQUEUE_FAILED;
            case RESUME, PLACE -> PLACE_FAILED;
            case CLEANUP -> CLEANUP_FAILED;
            default -> OTHER;
        };
    }
}
