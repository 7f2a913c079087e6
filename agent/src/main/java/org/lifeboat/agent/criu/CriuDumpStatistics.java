package org.lifeboat.agent.criu;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What CRIU measured of one dump (its {@code stats-dump} image; times in microseconds, as CRIU
 * keeps them). With the agent's post-dump hook, CRIU keeps the tree frozen until the agent's
 * decision, so {@code frozenMicros} runs until the source copy is killed: it covers the image
 * transfer and the restore on the target as well.
 *
 * @param freezingMicros stopping every task of the tree
 * @param frozenMicros from the tree stopped until CRIU let go of it
 * @param memdumpMicros collecting the memory to dump (drained into pipes by the parasite)
 * @param memwriteMicros writing that memory out: into files, or to the page server
 * @param pagesScanned pages CRIU looked at
 * @param pagesSkippedParent pages a previous pre-dump had already saved
 * @param pagesWritten pages written or sent
 * @param pagesLazy pages left for lazy (post-copy) restore
 */
public record CriuDumpStatistics(
        @JsonProperty("freezing-micros") long freezingMicros,
        @JsonProperty("frozen-micros") long frozenMicros,
        @JsonProperty("memdump-micros") long memdumpMicros,
        @JsonProperty("memwrite-micros") long memwriteMicros,
        @JsonProperty("pages-scanned") long pagesScanned,
        @JsonProperty("pages-skipped-parent") long pagesSkippedParent,
        @JsonProperty("pages-written") long pagesWritten,
        @JsonProperty("pages-lazy") long pagesLazy) {}
