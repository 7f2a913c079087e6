package org.lifeboat.agent.migration;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.lifeboat.agent.criu.Criu;

/**
 * Where a job goes when it leaves this node: another node's agent ({@link LiveDestination}) or
 * the shared directory, parked ({@link ParkedDestination}). {@link MigrationDriver} walks the
 * phases and holds the source copy; a destination does its own part of each phase.
 */
interface Destination {

    /** The report's "to": a node, or the parked directory. */
    String name();

    TransferMode mode();

    /** Where CRIU writes the images. */
    Path images();

    /** Whether PREPARE_TARGET is a phase of this move; either way {@link #prepare} runs before the dump. */
    boolean hasTarget();

    /** Room for the images; {@code control} (the move's directory on this node) exists already. */
    void prepare(Path control, MoveFigures figures) throws Exception;

    /** How CRIU is to dump for this destination, once prepared. */
    Criu.DumpSpec dumpSpec(Path postDumpScript) throws Exception;

    /** Checked every few milliseconds while CRIU dumps; throws to give the dump up (a stalled link). */
    void checkDumpProgress() throws Exception;

    /** Right after the dump, the source copy frozen: the page stream drained, a job's address let go. */
    void dumped(MoveFigures figures) throws Exception;

    /** The phases between DUMP and REQUEUE that make a restorable copy at the destination. */
    List<Phase> handOver(MoveFigures figures);

    /** REQUEUE: the scheduler gives the job up on this node. Succeeding is the point of no return. */
    void requeue() throws Exception;

    /** RESUME, if the destination runs the job itself at once: its copy goes on. Empty for none. */
    Optional<Phase> resume();

    /** PLACE, if any: the requeued job is started where its copy runs. */
    Optional<Phase> place(long downtimeMillis);

    /**
     * FETCH_PAGES (post-copy), once the source's CRIU has served its last page and ended: throws
     * unless every page reached the job's copy at the destination.
     */
    default void pagesArrived(MoveFigures figures) throws Exception {
        throw new IllegalStateException(name() + " takes no post-copy migration");
    }

    /** Checked every few milliseconds while the destination fetches the memory (post-copy); throws to give up. */
    default void checkPagesProgress() throws Exception {
        throw new IllegalStateException(name() + " takes no post-copy migration");
    }

    /** CLEANUP's destination half, after CRIU ended here; the images go unless they are the job's checkpoint. */
    void cleanUp(MoveFigures figures) throws Exception;

    /** ROLLBACK, before the source copy resumes: what must be let go first (a job's own address). */
    void beforeSourceResumes(boolean dumped) throws Exception;

    /** ROLLBACK, once the source copy runs again: the destination discards its part, the images go. */
    void afterSourceResumed(MoveFigures figures) throws Exception;

    /** A named phase of the destination's own. */
    record Phase(MigrationPhase phase, PhaseTimer.PhaseAction action) {}
}
