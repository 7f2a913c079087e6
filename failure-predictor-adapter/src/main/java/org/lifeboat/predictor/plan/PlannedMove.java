package org.lifeboat.predictor.plan;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * What to do with one job, and when.
 *
 * @param job         the job
 * @param action      live migration, or a checkpoint to shared storage first because a live migration cannot end before the deadline
 * @param lane        which of the concurrent migration slots it runs in (0-based); -1 for a checkpoint
 * @param estimate    how long its live migration is expected to take while the planned number of migrations share the link
 * @param start       when it is planned to start (the plan's "now" for a checkpoint)
 * @param finish      when its live migration is expected to end; for a checkpoint, when one started now would end
 * @param latestStart the last moment a live migration of it could start and still end by the deadline
 *                    (before "now" when it cannot); an evacuator may wait until then, leaving time for the
 *                    prediction to be withdrawn before anything moves
 */
public record PlannedMove(JobToMove job, Action action, int lane, Duration estimate, Instant start, Instant finish,
                          Instant latestStart) {

    public PlannedMove {
        Objects.requireNonNull(job, "job");
        Objects.requireNonNull(action, "action");
        Objects.requireNonNull(estimate, "estimate");
        Objects.requireNonNull(start, "start");
        Objects.requireNonNull(finish, "finish");
        Objects.requireNonNull(latestStart, "latestStart");
    }

    public enum Action {
        /** Move it live to another node, in its lane, in plan order. */
        MIGRATE_LIVE,
        /** It cannot move live before the deadline: checkpoint it to shared storage now, so that it resumes from there. */
        CHECKPOINT_TO_SHARED_FIRST
    }
}
