package org.lifeboat.agent.criu;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What CRIU measured of one restore (its {@code stats-restore} image; times in microseconds).
 *
 * @param forkingMicros recreating the process tree
 * @param restoreMicros the restore as a whole, from the first fork until the tree runs
 * @param pagesCompared pages compared with a parent image (incremental restore)
 * @param pagesSkippedCow pages shared copy-on-write instead of restored
 * @param pagesRestored pages read back into memory
 */
public record CriuRestoreStatistics(
        @JsonProperty("forking-micros") long forkingMicros,
        @JsonProperty("restore-micros") long restoreMicros,
        @JsonProperty("pages-compared") long pagesCompared,
        @JsonProperty("pages-skipped-cow") long pagesSkippedCow,
        @JsonProperty("pages-restored") long pagesRestored) {}
