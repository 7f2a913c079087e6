package org.lifeboat.agent.migration;

import org.lifeboat.agent.criu.CriuDumpStatistics;
import org.lifeboat.agent.criu.CriuRestoreStatistics;

/** What a move measured as its phases ran, for its report; zero or null where a phase did not run. */
final class MoveFigures {
    long frozenAtNanos;
    long criuDumpMillis;
    long criuRestoreMillis;
    long pageBytes;
    long pageWireBytes;
    long imageBytes;
    long splitMillis;
    CriuDumpStatistics criuDump;
    CriuRestoreStatistics criuRestore;
}
