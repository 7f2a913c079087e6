package org.lifeboat.agent.migration;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.RestoreRoot;
import org.lifeboat.agent.criu.Checkpointer;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.network.JobNetworks;

/**
 * The parked checkpoints in the shared directory (see {@link ParkedDestination}), as the node that
 * starts a parked job again finds, restores and, once the job runs, discards them.
 */
public final class ParkedCheckpoints {

    static final String PARKED = "parked";
    static final String RECORD = "parked.json";
    private static final Duration CRIU_TIMEOUT = Duration.ofMinutes(30).plus(PostDumpHook.DECISION_LIMIT);

    private final Path parkedDirectory;
    private final Path checkpointDirectory;
    private final Checkpointer criu;
    private final RestoreRoot restoreRoots;
    private final JobNetworks networks;

    /**
     * @param sharedDirectory the shared-directory every node sees: checkpoints go to its {@value #PARKED} directory
     * @param checkpointDirectory this node's checkpoint directory, where restore roots are built
     */
    public ParkedCheckpoints(Path sharedDirectory, Path checkpointDirectory, Checkpointer criu, RestoreRoot restoreRoots,
                             JobNetworks networks) {
        this.parkedDirectory = sharedDirectory.resolve(PARKED);
        this.checkpointDirectory = Objects.requireNonNull(checkpointDirectory, "checkpointDirectory");
        this.criu = Objects.requireNonNull(criu, "criu");
        this.restoreRoots = Objects.requireNonNull(restoreRoots, "restoreRoots");
        this.networks = Objects.requireNonNull(networks, "networks");
    }

    Path parkedDirectory() {
        return parkedDirectory;
    }

    Path directory(long jobId) {
        return parkedDirectory.resolve("job" + jobId);
    }

    /** The job's parked checkpoint, if it has one. */
    public Optional<ParkedJob> find(long jobId) throws IOException {
        Path record = directory(jobId).resolve(RECORD);
        if (!Files.isRegularFile(record)) {
            return Optional.empty();
        }
        return Optional.of(AgentJson.mapper().readValue(record.toFile(), ParkedJob.class));
    }

    /**
     * Restores the parked checkpoint here, stopped, and returns the restored init's pid. The
     * checkpoint stays until {@link #discard}: a restore that fails leaves it for the next node.
     */
    public long restore(ParkedJob parked) throws Exception {
        Path images = directory(parked.job());
        ContainerManifest container = parked.container();
        Path root = CheckpointDirectories.restoreRoot(checkpointDirectory, "parked-job" + parked.job());
        // Written by the owner's CRIU on another node; a file server may show them as root's (see CopyRestorer).
        OwnedDirectories.handOver(images, CriuSpecs.owner(container));
        CheckpointDirectories.prepareRestoreRoot(root);
        restoreRoots.build(root, container);
        CheckpointDirectories.handOverRestoreRoot(root, CriuSpecs.owner(container));
        try {
            // The parked images are the job's only checkpoint until it runs again: CRIU leaves them whole.
            return CriuSpecs.restore(criu, networks, "parked-job" + parked.job(), container, images, root, Optional.empty(),
                    CRIU_TIMEOUT, false, false);
        } finally {
            // The restored container holds its own copy of the root mount.
            restoreRoots.unmount(root);
            CheckpointDirectories.deleteRestoreRoot(root);
        }
    }

    /** The job runs again from its checkpoint: the images are no longer needed. */
    public void discard(long jobId) throws IOException {
        DirectoryTrees.delete(directory(jobId));
    }

    /** What a parked checkpoint's record says: whose job, from where, and its container. */
    public record ParkedJob(
            @JsonProperty("job") long job,
            @JsonProperty("uid") int uid,
            @JsonProperty("gid") int gid,
            @JsonProperty("from") String from,
            @JsonProperty("parked") Instant parked,
            @JsonProperty("container") ContainerManifest container) {}
}
