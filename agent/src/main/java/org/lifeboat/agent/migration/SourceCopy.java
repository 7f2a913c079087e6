package org.lifeboat.agent.migration;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.criu.Checkpointer;
import org.lifeboat.agent.criu.Criu;

/**
 * The job's copy on this node while it leaves: CRIU dumps it and then holds it frozen at post-dump
 * until this agent decides (see {@link PostDumpHook}): commit kills it, rollback resumes it exactly
 * where it was. The decisions go into its control directory on this node's disk.
 */
final class SourceCopy {

    private static final Duration PAGES_POLL = Duration.ofMillis(50);
    private static final Logger LOG = Logger.getLogger(SourceCopy.class.getName());

    private final ContainerManifest container;
    private final Path control;
    private final Checkpointer criu;
    private final ContainerProcesses processes;
    private final ExecutorService criuRuns;
    private Future<?> criuDump;
    private volatile long criuEndedNanos;
    private boolean committed;

    SourceCopy(ContainerManifest container, Path control, Checkpointer criu, ContainerProcesses processes,
               ExecutorService criuRuns) {
        this.container = Objects.requireNonNull(container, "container");
        this.control = Objects.requireNonNull(control, "control");
        this.criu = Objects.requireNonNull(criu, "criu");
        this.processes = Objects.requireNonNull(processes, "processes");
        this.criuRuns = Objects.requireNonNull(criuRuns, "criuRuns");
    }

    /** Where each outgoing migration keeps its control files: this node's disk. */
    static Path outgoingDirectory(Path checkpointDirectory) {
        return CheckpointDirectories.outgoing(checkpointDirectory);
    }

    Path control() {
        return control;
    }

    /**
     * Makes the control directory: root's decisions, which the owner's CRIU (its post-dump script)
     * may read but not make, and a directory of the owner's in it where that script marks the dump.
     */
    void createControl() throws IOException {
        OwnedDirectories.passThrough(control);
        OwnedDirectories.create(PostDumpHook.marks(control), CriuSpecs.owner(container));
    }

    /**
     * Runs CRIU's dump on its own thread and returns once CRIU holds the tree frozen at post-dump;
     * {@code watch} is checked meanwhile and gives the dump up by throwing. A tree that is not
     * wholly stopped after the dump fails it: restoring it elsewhere would run the job twice.
     */
    void dump(Criu.DumpSpec spec, PostDumpHook.DumpWatch watch) throws Exception {
        criuDump = criuRuns.submit(() -> {
            try {
                criu.dump(spec);
            } finally {
                criuEndedNanos = System.nanoTime();
            }
            return null;
        });
        PostDumpHook.awaitDumped(control, criuDump, watch);
        if (!processes.allStopped(container.initPid())) {
            throw new IOException("after the dump, the container (init pid " + container.initPid() + ") is not frozen");
        }
    }

    /**
     * Post-copy, right after the dump: CRIU starts serving the memory, which the target's restore
     * needs, while the tree stays stopped here until the decision (SIGSTOP queued behind CRIU's own
     * stop: CRIU gives the tree back when its serving ends, early on a rollback). Commit kills the
     * tree; the pages stay with CRIU, which holds them in its pipes until the target has them all.
     */
    void serveLazyPages() throws Exception {
        processes.stop(container.initPid());
        PostDumpHook.serveLazyPages(control, processes, container.initPid());
    }

    boolean dumped() {
        return PostDumpHook.dumped(control);
    }

    /** From here on a dead agent must not make CRIU resume this copy: Slurm may be starting the job elsewhere. */
    void requeuing() throws IOException {
        PostDumpHook.requeuing(control);
    }

    /**
     * The job belongs to its destination now: this copy is killed before CRIU hears "commit", so
     * that whatever CRIU does next it cannot run again. Called once; later calls do nothing.
     */
    void commit() throws Exception {
        if (committed) {
            return;
        }
        committed = true;
        try {
            processes.kill(container.initPid());
        } finally {
            PostDumpHook.commit(control);
        }
    }

    /** Before the point of no return: CRIU resumes the tree where it was (network unlocked, TCP out of repair). */
    void rollBack() throws Exception {
        if (criuDump == null) {
            return;
        }
        Exception failure = null;
        try {
            if (dumped()) {
                PostDumpHook.rollBack(control);
            }
            awaitExit();
        } catch (Exception e) {
            failure = e;
        }
        // CRIU may have failed between freezing and post-dump: the tree must never stay frozen.
        if (processes.isAlive(container.initPid()) && processes.allStopped(container.initPid())) {
            processes.resume(container.initPid());
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Post-copy, after the commit: waits for CRIU to have served the last page the target asked for
     * and ended, checking {@code watch} meanwhile. How CRIU ended is only logged: the target alone
     * can tell whether every page reached the job ({@link Destination#pagesArrived}).
     */
    void awaitPagesServed(PostDumpHook.DumpWatch watch) throws Exception {
        while (true) {
            try {
                criuDump.get(PAGES_POLL.toMillis(), TimeUnit.MILLISECONDS);
                return;
            } catch (ExecutionException e) {
                // By design when its post-dump script said "roll back" (see serveLazyPages): CRIU then exits 255.
                LOG.fine(() -> "dump of " + control.getFileName() + ": CRIU ended its lazy-pages server with "
                        + e.getCause().getMessage());
                return;
            } catch (TimeoutException e) {
                watch.check();
            }
        }
    }

    /** When CRIU's dump ended ({@link System#nanoTime}); post-copy, when the last page it served crossed. 0 while it runs. */
    long criuEndedNanos() {
        return criuEndedNanos;
    }

    /** Waits for CRIU to end after the decision; its exit status no longer matters (a rollback makes it 1). */
    void awaitExit() throws InterruptedException {
        if (criuDump != null) {
            PostDumpHook.awaitExit("dump of " + control.getFileName(), criuDump);
        }
    }

    /** Removes the control directory, last: while it is there a restarted agent finds the migration to clean up. */
    void forget() throws IOException {
        DirectoryTrees.delete(control);
    }
}
