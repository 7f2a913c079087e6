package org.lifeboat.agent.migration;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import org.lifeboat.agent.criu.CriuRestoreStatistics;

/** The target's replies that carry something, as records both ends share (see {@link PeerMessages}). */
final class TargetReplies {

    private TargetReplies() {}

    /**
     * The reply to {@code restore}.
     *
     * @param criuStats CRIU's own figures, null when it wrote none: figures only, never a reason to fail
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Restored(
            @JsonProperty(value = "pid", required = true) long pid,
            @JsonProperty(value = "criu-millis", required = true) long criuMillis,
            @JsonProperty("criu-stats") CriuRestoreStatistics criuStats) {}

    /** The reply to {@code confirm}: whether the target vouches for its copy, and which it is. */
    record Confirmed(
            @JsonProperty(value = "ready", required = true) boolean ready,
            @JsonProperty(value = "pid", required = true) long pid) {}

    /**
     * The reply to {@code pages-arrived} (post-copy): whether every page reached the restored job.
     *
     * @param failure why not, and what became of the copy; null when they all did
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record PagesArrived(
            @JsonProperty(value = "complete", required = true) boolean complete,
            @JsonProperty("failure") String failure) {}
}
