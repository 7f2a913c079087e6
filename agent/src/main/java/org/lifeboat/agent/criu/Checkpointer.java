package org.lifeboat.agent.criu;

import java.nio.file.Path;
import java.time.Duration;

/** What the engine asks of CRIU: the seam at which unit tests put a fake. The real one is {@link Criu}. */
public interface Checkpointer {

    /** Checkpoints the tree; returns once CRIU has ended (after its post-dump action script's decision). */
    void dump(Criu.DumpSpec spec) throws CriuException;

    /** Restores the tree, left stopped, and returns its init's pid. */
    long restore(Criu.RestoreSpec spec) throws CriuException;

    /**
     * Starts a page server writing into {@code imageDirectory}, connected to this agent alone through a
     * socket made in {@code socketDirectory}; returns it with the agent's end of that connection.
     */
    Criu.PageServer startPageServer(Path imageDirectory, Path socketDirectory, Duration timeout) throws CriuException;
}
