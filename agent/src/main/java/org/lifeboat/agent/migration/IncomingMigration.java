package org.lifeboat.agent.migration;

import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.network.JobNetwork;
import org.lifeboat.agent.peer.PeerRequestException;
import org.lifeboat.agent.slurm.SlurmJob;

/**
 * One migration to this node: what the source said at PREPARE, and where it stands. It changes
 * state only through {@link #transition}, which refuses an event the state does not allow, so a
 * repeated or out-of-order request never runs CRIU, or anything else, a second time.
 */
final class IncomingMigration {

    private static final Duration SLURM_READ_WAIT = Duration.ofSeconds(30);

    enum State {
        /** Page server (diskless) started, images arriving. */
        PREPARED,
        /** CRIU failed to restore: only an abort (or the silence sweep) is left. */
        RESTORE_FAILED,
        /** A stopped copy runs here: the source still holds the job frozen. */
        RESTORED,
        /** This node vouched for the copy: the source may requeue the job now, and the copy must outlive this agent. */
        CONFIRMED,
        /** Taken over: the source fell silent, Slurm requeued the job, this node pinned it here and let it start. */
        STARTED_HERE,
        /** The source's resume ran the copy: the job is this node's. */
        RESUMED,
        /** Taken over and resumed here after the source node was lost; no source will commit it. */
        TAKEN_OVER,
        COMMITTED,
        DISCARDED
    }

    /** What may happen to a migration: the source's requests, then this node's own sweeps. */
    enum Event {
        IMAGES(State.PREPARED, EnumSet.of(State.PREPARED)),
        PAGES(State.PREPARED, EnumSet.of(State.PREPARED)),
        PREPARE_FAILED(State.DISCARDED, EnumSet.of(State.PREPARED)),
        RESTORE(State.RESTORED, EnumSet.of(State.PREPARED)),
        CONFIRM(State.CONFIRMED, EnumSet.of(State.RESTORED)),
        RESUME(State.RESUMED, EnumSet.of(State.CONFIRMED, State.STARTED_HERE)),
        PAGES_ARRIVED(State.RESUMED, EnumSet.of(State.RESUMED)),
        COMMIT(State.COMMITTED, EnumSet.of(State.RESUMED)),
        ABORT(State.DISCARDED, EnumSet.of(State.PREPARED, State.RESTORE_FAILED, State.RESTORED, State.CONFIRMED)),
        // A confirmed copy may be the job's only one: the silence sweep leaves it to the take-over.
        SILENCE(State.DISCARDED, EnumSet.of(State.PREPARED, State.RESTORE_FAILED, State.RESTORED)),
        START_HERE(State.STARTED_HERE, EnumSet.of(State.RESTORED, State.CONFIRMED)),
        RESUME_HERE(State.TAKEN_OVER, EnumSet.of(State.CONFIRMED, State.STARTED_HERE)),
        GIVE_UP(State.DISCARDED, EnumSet.of(State.RESTORED, State.CONFIRMED, State.STARTED_HERE));

        private final State to;
        private final Set<State> from;

        Event(State to, Set<State> from) {
            this.to = to;
            this.from = from;
        }

        String requestName() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /** A step taken under {@link #transition}; the state changes only when it returns. */
    @FunctionalInterface
    interface Work<T, E extends Exception> {
        T run() throws PeerRequestException, E;
    }

    final String id;
    final long jobId;
    final int uid;
    final int gid;
    final TransferMode mode;
    final ContainerManifest manifest;
    final JobNetwork network;
    final Path images;
    final Path root;
    /** Slurm's view of the job when this node prepared for it (its restart count, its node: the source). */
    private final CompletableFuture<SlurmJob> jobBefore;
    final long preparedNanos;
    /** One step at a time per migration: a request of the source, or a sweep of this node. */
    final ReentrantLock lock = new ReentrantLock();
    /** Requests being handled, or waiting for the lock: each counts as hearing from the source. */
    final AtomicInteger requestsInHand = new AtomicInteger();
    volatile Instant lastHeard;
    volatile long imageBytesSeen;
    // The agent's end of the page server's one connection, until the first relay takes it.
    final AtomicReference<SocketChannel> pageServer = new AtomicReference<>();
    // Post-copy: the agent's end of the lazy-pages daemon's connection, once the restore has started it.
    final CompletableFuture<SocketChannel> lazyPages = new CompletableFuture<>();
    final AtomicBoolean lazyPagesRelayed = new AtomicBoolean();
    volatile boolean networkCreated;
    volatile long restoredPid;
    volatile long criuMillis;
    private volatile State state = State.PREPARED;

    IncomingMigration(String id, long jobId, int uid, int gid, TransferMode mode, ContainerManifest manifest, JobNetwork network,
                      Path images, Path root, CompletableFuture<SlurmJob> jobBefore, Instant lastHeard, long preparedNanos) {
        this.id = Objects.requireNonNull(id, "id");
        this.jobId = jobId;
        this.uid = uid;
        this.gid = gid;
        this.mode = Objects.requireNonNull(mode, "mode");
        this.manifest = Objects.requireNonNull(manifest, "manifest");
        this.network = network;
        this.images = Objects.requireNonNull(images, "images");
        this.root = Objects.requireNonNull(root, "root");
        this.jobBefore = Objects.requireNonNull(jobBefore, "jobBefore");
        this.lastHeard = Objects.requireNonNull(lastHeard, "lastHeard");
        this.preparedNanos = preparedNanos;
    }

    State state() {
        return state;
    }

    boolean accepts(Event event) {
        return event.from.contains(state);
    }

    /**
     * The one way a migration changes state: checks that {@code event} may happen now, runs
     * {@code work}, and moves to the event's state once the work has succeeded (a failed restore
     * moves to {@link State#RESTORE_FAILED}, any other failure changes nothing). The caller holds
     * {@link #lock}.
     *
     * @return empty when the event had already happened (a source late to hear of a take-over, an
     *         abort of a discarded migration): nothing is done again, and the request is answered ok
     * @throws PeerRequestException the event is out of order here; nothing was done
     */
    <T, E extends Exception> Optional<T> transition(Event event, Work<T, E> work) throws PeerRequestException, E {
        if (!lock.isHeldByCurrentThread()) {
            throw new IllegalStateException("migration " + id + ": " + event + " without its lock");
        }
        if (alreadyHappened(event)) {
            return Optional.empty();
        }
        if (!accepts(event)) {
            throw refusal(event);
        }
        T result;
        try {
            result = work.run();
        } catch (Exception e) {
            if (event == Event.RESTORE) {
                state = State.RESTORE_FAILED;
            }
            throw e;
        }
        state = event.to;
        return Optional.ofNullable(result);
    }

    private boolean alreadyHappened(Event event) {
        return switch (event) {
            case RESUME, COMMIT -> state == State.TAKEN_OVER;
            case ABORT -> state == State.DISCARDED;
            default -> false;
        };
    }

    /** The error the source gets; the codes it acts on ("conflict" on abort: the job runs here) are kept. */
    private PeerRequestException refusal(Event event) {
        if (event == Event.ABORT) {
            // Only a source that has not requeued the job aborts; this one must have lost track.
            return new PeerRequestException("conflict", "migration " + id + " is past its point of no return: job " + jobId
                    + " runs here");
        }
        if (state == State.COMMITTED || state == State.DISCARDED) {
            return new PeerRequestException("unknown-migration", "no migration " + id + " is in progress here");
        }
        if ((event == Event.CONFIRM || event == Event.RESUME) && (state == State.PREPARED || state == State.RESTORE_FAILED)) {
            return new PeerRequestException("conflict", "migration " + id + " has not been restored");
        }
        if (event == Event.CONFIRM && state == State.STARTED_HERE) {
            return new PeerRequestException("conflict", "migration " + id + " was taken over here after its source fell silent"
                    + " and Slurm requeued job " + jobId);
        }
        return new PeerRequestException("out-of-order", "migration " + id + " is " + state + ": " + event.requestName()
                + " is out of order");
    }

    /** Slurm's view of the job when this node prepared for it, once read. */
    Optional<SlurmJob> jobBefore() {
        try {
            return Optional.of(jobBefore.get(SLURM_READ_WAIT.toMillis(), TimeUnit.MILLISECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        } catch (ExecutionException | TimeoutException e) {
            return Optional.empty();
        }
    }

    /** Why Slurm's view of the job before the move is missing, for an error message. */
    String jobBeforeFailure() {
        try {
            jobBefore.getNow(null);
            return "no answer yet";
        } catch (CompletionException | CancellationException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            return cause.getMessage();
        }
    }
}
