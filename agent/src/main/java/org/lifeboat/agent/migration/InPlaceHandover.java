package org.lifeboat.agent.migration;

import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;

/**
 * A staying part's hand-over (see {@link StayingParts}): its copy is restored here and held; the
 * requeue is the coordinator's, so this one says "ready" and waits for the coordinator's word.
 * Unheard for too long, it asks Slurm: a job that was requeued meanwhile is the restored copy's
 * (the old one is being ended by Slurm), any other goes on as it was.
 */
final class InPlaceHandover implements JobHandover {

    /** Whether Slurm requeued the job since this part got ready: its restart count grew. */
    @FunctionalInterface
    interface RequeueCheck {
        boolean requeuedSince(int restarts) throws Exception;
    }

    private static final Logger LOG = Logger.getLogger(InPlaceHandover.class.getName());

    private final String coordinator;
    private final CompletableFuture<Void> ready;
    private final CompletableFuture<Boolean> decision;
    private final Duration decisionTimeout;
    private final int restartsBefore;
    private final RequeueCheck slurm;

    InPlaceHandover(String coordinator, CompletableFuture<Void> ready, CompletableFuture<Boolean> decision, Duration decisionTimeout,
                    int restartsBefore, RequeueCheck slurm) {
        this.coordinator = Objects.requireNonNull(coordinator, "coordinator");
        this.ready = Objects.requireNonNull(ready, "ready");
        this.decision = Objects.requireNonNull(decision, "decision");
        this.decisionTimeout = Objects.requireNonNull(decisionTimeout, "decisionTimeout");
        this.restartsBefore = restartsBefore;
        this.slurm = Objects.requireNonNull(slurm, "slurm");
    }

    @Override
    public void requeue(long jobId) throws Exception {
        ready.complete(null);
        boolean commit;
        try {
            commit = decision.get(decisionTimeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            commit = slurm.requeuedSince(restartsBefore);
            LOG.warning("job " + jobId + ": no word from " + coordinator + " within " + decisionTimeout.toSeconds() + " s; Slurm says"
                    + " the job was " + (commit ? "" : "not ") + "requeued: the part here " + (commit ? "resumes its copy" : "goes on"));
        } catch (ExecutionException e) {
            commit = false;
        }
        if (!commit) {
            throw new IOException(coordinator + " called the move of the job's other part off");
        }
    }

    /** The coordinator places the job on its new nodes. */
    @Override
    public void place(long jobId, String sourceNode, String targetNode, long downtimeMillis) {
    }

    @Override
    public void releaseElsewhere(long jobId, String sourceNode) {
        throw new UnsupportedOperationException("a staying part is not parked");
    }
}
