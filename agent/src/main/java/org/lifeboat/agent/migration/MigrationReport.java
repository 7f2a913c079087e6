package org.lifeboat.agent.migration;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lifeboat.agent.criu.CriuDumpStatistics;
import org.lifeboat.agent.criu.CriuRestoreStatistics;

/**
 * What one migration did, as `lifeboat migrate` prints it and `lifeboat history` lists it.
 *
 * @param outcome how it ended
 * @param cause why it rolled back or what cleanup failed; null when it simply worked
 * @param phaseMillis each phase that ran, in order, with its duration
 * @param downtimeMillis from the freeze at the start of the dump until the container runs again on the target
 * @param criuDumpMillis how long CRIU's dump ran (on the source), page transfer included in diskless mode
 * @param criuRestoreMillis how long CRIU's restore ran (on the target)
 * @param pageBytes memory sent to the target's page server (diskless) or written (shared-fs)
 * @param pageWireBytes what that memory took on the link between the agents: less than pageBytes
 *     when it was compressed (see {@code peer.page-compression}); pageBytes when it did not cross a relay
 * @param imageBytes the other image files sent as a tar
 * @param uid the uid the job's container runs as, its owner: only they and root see the report in the history
 * @param reason why the migration did not simply work, null when it did
 * @param criuDump CRIU's own figures for the dump, null when CRIU wrote none (a dump that was rolled back)
 * @param criuRestore CRIU's own figures for the restore on the target, null when there was none
 * @param splitMillis post-copy: how long the job ran on the target while part of its memory was still on the
 *     source, from its resume there until the last page crossed (or the transfer failed); 0 for other modes
 */
public record MigrationReport(
        @JsonProperty("migration") String migrationId,
        @JsonProperty("job") long job,
        @JsonProperty("from") String from,
        @JsonProperty("to") String to,
        @JsonProperty("mode") TransferMode mode,
        @JsonProperty("outcome") Outcome outcome,
        @JsonProperty("cause") String cause,
        @JsonProperty("started") Instant started,
        @JsonProperty("phase-millis") Map<String, Long> phaseMillis,
        @JsonProperty("total-millis") long totalMillis,
        @JsonProperty("downtime-millis") long downtimeMillis,
        @JsonProperty("criu-dump-millis") long criuDumpMillis,
        @JsonProperty("criu-restore-millis") long criuRestoreMillis,
        @JsonProperty("page-bytes") long pageBytes,
        @JsonProperty("page-wire-bytes") long pageWireBytes,
        @JsonProperty("image-bytes") long imageBytes,
        @JsonProperty("uid") int uid,
        @JsonProperty("reason") FailureReason reason,
        @JsonProperty("criu-dump") CriuDumpStatistics criuDump,
        @JsonProperty("criu-restore") CriuRestoreStatistics criuRestore,
        @JsonProperty("split-millis") long splitMillis) {


    public MigrationReport {
        phaseMillis = Collections.unmodifiableMap(new LinkedHashMap<>(phaseMillis));
    }
}
