package org.lifeboat.agent.migration;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.criu.Criu;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.storage.AtomicFiles;

/**
 * The shared directory, for when no node can take the job now: the checkpoint is written there and
 * the job requeued; Slurm starts it again wherever a node frees up, and that node's agent restores
 * it ({@link ParkedCheckpoints}). From the requeue on the checkpoint is the job's only copy: it is
 * never deleted before a restore of it has run.
 */
final class ParkedDestination implements Destination {


    private final long jobId;
    private final int uid;
    private final int gid;
    private final ContainerManifest container;
    private final String nodeName;
    private final ParkedCheckpoints checkpoints;
    private final ContainerProcesses processes;
    private final JobHandover handover;
    private final Clock clock;
    private final Path images;

    ParkedDestination(long jobId, int uid, int gid, ContainerManifest container, String nodeName, ParkedCheckpoints checkpoints,
                      ContainerProcesses processes, JobHandover handover, Clock clock) {
        this.jobId = jobId;
        this.uid = uid;
        this.gid = gid;
        this.container = Objects.requireNonNull(container, "container");
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
        this.checkpoints = Objects.requireNonNull(checkpoints, "checkpoints");
        this.processes = Objects.requireNonNull(processes, "processes");
        this.handover = Objects.requireNonNull(handover, "handover");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.images = checkpoints.directory(jobId);
    }

    @Override
    public String name() {
        return checkpoints.parkedDirectory().toString();
    }

    @Override
    public TransferMode mode() {
        return TransferMode.SHARED_FS;
    }

    @Override
    public Path images() {
        return images;
    }

    @Override
    public boolean hasTarget() {
        return false;
    }

    @Override
    public void prepare(Path control, MoveFigures figures) throws IOException {
        if (container.networkNamespace() != null) {
            throw new IOException("job " + jobId + " has its own network: its connections would not survive a park");
        }
        if (Files.exists(images)) {
            throw new IOException("job " + jobId + " already has a parked checkpoint in " + images);
        }
        // Root's parked directory, which no owner may enter, holds each job's checkpoint, theirs alone.
        OwnedDirectories.rootOnly(checkpoints.parkedDirectory());
        OwnedDirectories.create(images, CriuSpecs.owner(container));
        long needed = CriuSpecs.expectedImageBytes(processes.residentBytes(container.initPid()));
        long free = Files.getFileStore(images).getUsableSpace();
        if (free < needed) {
            throw new IOException("not enough space in " + checkpoints.parkedDirectory() + ": " + free + " bytes free, "
                    + needed + " needed");
        }
    }

    @Override
    public Criu.DumpSpec dumpSpec(Path postDumpScript) throws IOException {
        return CriuSpecs.dump(container, images, Optional.empty(), postDumpScript, Optional.empty(), false);
    }

    @Override
    public void checkDumpProgress() {
        // Written to the shared directory by CRIU itself: nothing relayed to watch.
    }

    @Override
    public void dumped(MoveFigures figures) {
        // Nothing to drain or release: no page stream, no address of its own.
    }

    @Override
    public List<Phase> handOver(MoveFigures figures) {
        return List.of();
    }

    /** The record first: a checkpoint without it would never be found by the node that starts the job. */
    @Override
    public void requeue() throws Exception {
        AtomicFiles.write(images.resolve(ParkedCheckpoints.RECORD), AgentJson.mapper().writeValueAsBytes(
                new ParkedCheckpoints.ParkedJob(jobId, uid, gid, nodeName, clock.instant(), container)));
        handover.requeue(jobId);
    }

    @Override
    public Optional<Phase> resume() {
        return Optional.empty();
    }

    @Override
    public Optional<Phase> place(long downtimeMillis) {
        return Optional.empty();
    }

    @Override
    public void cleanUp(MoveFigures figures) throws Exception {
        handover.releaseElsewhere(jobId, nodeName);
    }

    @Override
    public void beforeSourceResumes(boolean dumped) {
        // No address of its own to let go first (refused in prepare).
    }

    @Override
    public void afterSourceResumed(MoveFigures figures) throws IOException {
        DirectoryTrees.delete(images);
    }
}
