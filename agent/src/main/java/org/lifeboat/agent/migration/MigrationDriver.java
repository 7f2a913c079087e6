package org.lifeboat.agent.migration;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.criu.Checkpointer;
import org.lifeboat.agent.criu.Criu;
import org.lifeboat.agent.criu.CriuStatsImage;

/**
 * The one walk of a move's phases, for every way a job leaves this node (see {@link Destination}):
 * PREPARE_TARGET, DUMP, the destination's hand-over, REQUEUE; then, past the point of no return,
 * RESUME, PLACE and CLEANUP. Before the point of no return any failure is a ROLLBACK: the source
 * copy, held frozen by CRIU until then, resumes where it was and the destination discards its part.
 * After it, failures only delay the job's start at the destination or leave litter.
 */
public final class MigrationDriver {

    private static final Logger LOG = Logger.getLogger(MigrationDriver.class.getName());

    private final String nodeName;
    private final Path checkpointDirectory;
    private final Checkpointer criu;
    private final ContainerProcesses processes;
    private final Path postDumpScript;
    private final ExecutorService criuRuns;
    private final Clock clock;
    private final MigrationObserver observer;
    private final AtomicInteger inFlight = new AtomicInteger();

    /**
     * @param postDumpScript CRIU's action script (see {@link PostDumpHook}), installed by the agent at start
     * @param criuRuns where CRIU's dumps run while the driver walks the phases around them
     * @param observer told of every move's report once it has ended
     */
    public MigrationDriver(String nodeName, Path checkpointDirectory, Checkpointer criu, ContainerProcesses processes,
                           Path postDumpScript, ExecutorService criuRuns, Clock clock, MigrationObserver observer) {
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
        this.checkpointDirectory = Objects.requireNonNull(checkpointDirectory, "checkpointDirectory");
        this.criu = Objects.requireNonNull(criu, "criu");
        this.processes = Objects.requireNonNull(processes, "processes");
        this.postDumpScript = Objects.requireNonNull(postDumpScript, "postDumpScript");
        this.criuRuns = Objects.requireNonNull(criuRuns, "criuRuns");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.observer = Objects.requireNonNull(observer, "observer");
    }

    /** Moves from this node under way now. */
    public int inFlight() {
        return inFlight.get();
    }

    /** Where each outgoing move keeps its control files (and, when diskless, its images): this node's disk. */
    public static Path outgoingDirectory(Path checkpointDirectory) {
        return SourceCopy.outgoingDirectory(checkpointDirectory);
    }

    /**
     * Moves the job's container to the destination. Never throws for a failed move: the report
     * says whether the job left or was rolled back, and why.
     */
    public MigrationReport move(String migrationId, long jobId, ContainerManifest container, Destination destination,
                                WholeJobGuard wholeJob) {
        inFlight.incrementAndGet();
        try {
            MigrationReport report = walk(migrationId, jobId, container, destination, wholeJob);
            try {
                observer.migrationEnded(report);
            } catch (RuntimeException e) {
                // Metrics and history must never turn a move's outcome into an error.
                LOG.log(Level.WARNING, "migration " + migrationId + ": recording its report failed", e);
            }
            return report;
        } finally {
            inFlight.decrementAndGet();
        }
    }

    /**
     * Asked once more just before the point of no return, with the job frozen: a step that
     * started on this node while the job was being dumped would be ended by the requeue, so the
     * move rolls back instead (see {@link WholeJobCheck}).
     */
    @FunctionalInterface
    public interface WholeJobGuard {
        void requireWhole() throws Exception;
    }

    private MigrationReport walk(String migrationId, long jobId, ContainerManifest container, Destination destination,
                                 WholeJobGuard wholeJob) {
        Instant started = clock.instant();
        long startedNanos = System.nanoTime();
        PhaseTimer phases = new PhaseTimer(migrationId);
        MoveFigures figures = new MoveFigures();
        SourceCopy source = new SourceCopy(container,
                PostDumpHook.controlDirectory(outgoingDirectory(checkpointDirectory), destination.images()), criu, processes,
                criuRuns);
        LOG.info("migration " + migrationId + ": job " + jobId + " from " + nodeName + " to " + destination.name() + ", "
                + destination.mode().wireName());
        try {
            if (destination.hasTarget()) {
                phases.run(MigrationPhase.PREPARE_TARGET, () -> prepare(source, destination, figures));
            }
            phases.run(MigrationPhase.DUMP, () -> dump(source, destination, figures));
            for (Destination.Phase phase : destination.handOver(figures)) {
                phases.run(phase.phase(), phase.action());
            }
            phases.run(MigrationPhase.REQUEUE, () -> {
                wholeJob.requireWhole();
                source.requeuing();
                destination.requeue();
            });
        } catch (Exception failure) {
            String cause = failure.getMessage();
            try {
                phases.run(MigrationPhase.ROLLBACK, () -> rollBack(source, destination, figures));
            } catch (Exception rollbackFailure) {
                cause += "; rollback incomplete: " + rollbackFailure.getMessage();
            }
            return report(migrationId, jobId, container, destination, Outcome.ROLLED_BACK, cause, started, startedNanos,
                    phases, figures, 0);
        }
        // The point of no return: Slurm has taken the job off this node. Failures from here on can delay
        // its start at the destination or leave litter, never bring back the copy here.
        LOG.info("migration " + migrationId + ": point of no return, job " + jobId + " requeued for " + destination.name());
        String failure = null;
        Optional<Destination.Phase> resume = destination.resume();
        long runsThereFrom = 0;
        if (resume.isPresent()) {
            try {
                // Whatever happens to the resume there, the copy here must go: the job belongs to the destination.
                phases.run(MigrationPhase.RESUME, () -> {
                    try {
                        resume.get().action().run();
                    } finally {
                        source.commit();
                    }
                });
            } catch (Exception e) {
                failure = "resume on " + destination.name() + ": " + e.getMessage();
            }
            runsThereFrom = System.nanoTime();
        }
        long downtime = (System.nanoTime() - figures.frozenAtNanos) / 1_000_000;
        Optional<Destination.Phase> place = destination.place(downtime);
        if (resume.isPresent()) {
            LOG.info("migration " + migrationId + ": job " + jobId + " runs on " + destination.name() + " after " + downtime
                    + " ms frozen");
        }
        if (place.isPresent()) {
            try {
                phases.run(MigrationPhase.PLACE, place.get().action());
            } catch (Exception e) {
                failure = append(failure, "placing the requeued job on " + destination.name() + ": " + e.getMessage());
            }
        }
        boolean lost = false;
        if (destination.mode() == TransferMode.POST_COPY && resume.isPresent()) {
            // The job runs on the destination while its memory is still here: it needs both nodes until the last
            // page has crossed, which CRIU's end here marks (it serves until the destination has them all). The
            // pages keep crossing during PLACE: this phase is what is left of them then.
            try {
                phases.run(MigrationPhase.FETCH_PAGES, () -> {
                    source.awaitPagesServed(destination::checkPagesProgress);
                    destination.pagesArrived(figures);
                });
            } catch (Exception e) {
                lost = true;
                failure = append(failure, "post-copy: " + e.getMessage());
            }
            long lastPage = source.criuEndedNanos() == 0 ? System.nanoTime() : source.criuEndedNanos();
            figures.splitMillis = Math.max(0, lastPage - runsThereFrom) / 1_000_000;
        }
        try {
            phases.run(MigrationPhase.CLEANUP, () -> cleanUp(source, destination, figures));
        } catch (Exception e) {
            failure = append(failure, "cleanup: " + e.getMessage());
        }
        Outcome done = resume.isPresent() ? Outcome.MIGRATED : Outcome.PARKED;
        Outcome outcome = lost ? Outcome.LOST : failure == null ? done : Outcome.CLEANUP_FAILED;
        if (lost) {
            LOG.severe("migration " + migrationId + ": job " + jobId + " was lost: " + failure);
        }
        return report(migrationId, jobId, container, destination, outcome, failure, started, startedNanos, phases, figures,
                downtime);
    }

    /** The control directory first: a restarted agent finds the move there, and the target to tell, from the start. */
    private static void prepare(SourceCopy source, Destination destination, MoveFigures figures) throws Exception {
        source.createControl();
        destination.prepare(source.control(), figures);
    }

    private void dump(SourceCopy source, Destination destination, MoveFigures figures) throws Exception {
        if (!destination.hasTarget()) {
            prepare(source, destination, figures);
        }
        Criu.DumpSpec spec = destination.dumpSpec(postDumpScript);
        figures.frozenAtNanos = System.nanoTime();
        source.dump(spec, destination::checkDumpProgress);
        figures.criuDumpMillis = (System.nanoTime() - figures.frozenAtNanos) / 1_000_000;
        destination.dumped(figures);
        if (destination.mode() == TransferMode.POST_COPY) {
            // After dumped(): a job's own address is down here before CRIU, done with the tree, unlocks its network.
            source.serveLazyPages();
        }
    }

    private static void cleanUp(SourceCopy source, Destination destination, MoveFigures figures) throws Exception {
        source.commit();
        source.awaitExit();
        // CRIU writes its statistics once it has let go of the tree; figures, never a reason to fail.
        try {
            figures.criuDump = CriuStatsImage.readDump(destination.images()).orElse(null);
        } catch (IOException e) {
            LOG.warning("cannot read CRIU's dump statistics: " + e.getMessage());
        }
        try {
            destination.cleanUp(figures);
        } finally {
            source.forget();
        }
    }

    private static void rollBack(SourceCopy source, Destination destination, MoveFigures figures) throws Exception {
        Exception first = null;
        try {
            destination.beforeSourceResumes(source.dumped());
        } catch (Exception e) {
            first = e;
        }
        try {
            source.rollBack();
        } catch (Exception e) {
            first = first == null ? e : first;
        }
        try {
            destination.afterSourceResumed(figures);
        } finally {
            source.forget();
        }
        if (first != null) {
            throw first;
        }
    }

    private MigrationReport report(String migrationId, long jobId, ContainerManifest container, Destination destination,
                                   Outcome outcome, String cause, Instant started, long startedNanos, PhaseTimer phases,
                                   MoveFigures figures, long downtimeMillis) {
        FailureReason reason = outcome == Outcome.MIGRATED || outcome == Outcome.PARKED ? null
                : phases.firstFailure().orElse(FailureReason.OTHER);
        LOG.info("migration " + migrationId + ": " + outcome.wireName() + (cause == null ? "" : " (" + cause + ")")
                + ", phases " + phases.millis());
        return new MigrationReport(migrationId, jobId, nodeName, destination.name(), destination.mode(), outcome, cause, started,
                phases.millis(), (System.nanoTime() - startedNanos) / 1_000_000, downtimeMillis, figures.criuDumpMillis,
                figures.criuRestoreMillis, figures.pageBytes, figures.pageWireBytes, figures.imageBytes, container.uid(), reason,
                figures.criuDump, figures.criuRestore, figures.splitMillis);
    }

    private static String append(String first, String next) {
        return first == null ? next : first + "; " + next;
    }
}
