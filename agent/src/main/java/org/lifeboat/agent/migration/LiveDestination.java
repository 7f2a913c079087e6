package org.lifeboat.agent.migration;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.criu.Criu;
import org.lifeboat.agent.criu.JobOwner;
import org.lifeboat.agent.network.JobNetwork;
import org.lifeboat.agent.network.JobNetworks;

/**
 * Another node's agent, live: its page server takes the memory while CRIU dumps (diskless) or it
 * reads the images from the shared directory (shared-fs); it restores the job stopped and confirms,
 * and once Slurm has requeued the job it lets its copy run and the job is placed there.
 */
final class LiveDestination implements Destination {

    private static final Duration RELAY_DRAIN_TIMEOUT = Duration.ofSeconds(60);
    // Pages flow steadily once they start; this long without one and the link is taken for lost.
    static final Duration RELAY_STALL_LIMIT = Duration.ofSeconds(10);
    private static final Logger LOG = Logger.getLogger(LiveDestination.class.getName());

    private final String migrationId;
    private final long jobId;
    private final String targetNode;
    private final InetSocketAddress targetPeer;
    private final TransferMode mode;
    private final ContainerManifest container;
    private final Path images;
    private final TargetAgent target;
    private final ContainerProcesses processes;
    private final JobNetworks networks;
    private final JobHandover handover;
    private final String sourceNode;
    private JobNetwork network;
    private TargetAgent.PageStream relay;
    private boolean targetPrepared;
    private boolean dumpStarted;
    private String imagesSha256;
    private long relayedBytes = -1;
    private long residentBytes;
    private long relayProgressAt;

    LiveDestination(String migrationId, long jobId, ContainerManifest container, String sourceNode, String targetNode,
                    InetSocketAddress targetPeer, TransferMode mode, Path images, TargetAgent target, ContainerProcesses processes,
                    JobNetworks networks, JobHandover handover) {
        this.migrationId = Objects.requireNonNull(migrationId, "migrationId");
        this.jobId = jobId;
        this.container = Objects.requireNonNull(container, "container");
        this.sourceNode = Objects.requireNonNull(sourceNode, "sourceNode");
        this.targetNode = Objects.requireNonNull(targetNode, "targetNode");
        this.targetPeer = Objects.requireNonNull(targetPeer, "targetPeer");
        this.mode = Objects.requireNonNull(mode, "mode");
        this.images = Objects.requireNonNull(images, "images");
        this.target = Objects.requireNonNull(target, "target");
        this.processes = Objects.requireNonNull(processes, "processes");
        this.networks = Objects.requireNonNull(networks, "networks");
        this.handover = Objects.requireNonNull(handover, "handover");
    }

    @Override
    public String name() {
        return targetNode;
    }

    @Override
    public TransferMode mode() {
        return mode;
    }

    @Override
    public Path images() {
        return images;
    }

    @Override
    public boolean hasTarget() {
        return true;
    }

    @Override
    public void prepare(Path control, MoveFigures figures) throws Exception {
        TargetRecord.write(control, new TargetRecord.Target(targetNode, targetPeer));
        OwnedDirectories.create(images, CriuSpecs.owner(container));
        if (container.networkNamespace() != null) {
            network = networks.describe(JobNetworks.namespaceName(Path.of(container.networkNamespace())));
        }
        boolean relayPages = mode.copiesImages();
        residentBytes = processes.residentBytes(container.initPid());
        long expected = CriuSpecs.expectedImageBytes(residentBytes);
        if (!relayPages) {
            long free = Files.getFileStore(images).getUsableSpace();
            if (free < expected) {
                throw new IOException("not enough space for the images in " + images.getParent() + ": " + free
                        + " bytes free, " + expected + " needed");
            }
        }
        // A post-copy target starts no page server: its lazy-pages daemon comes with the restore.
        target.prepare(new PrepareRequest(migrationId, jobId, container.uid(), container.gid(), mode, expected, container,
                mode == TransferMode.DISKLESS, network));
        targetPrepared = true;
        if (relayPages) {
            // CRIU dumps as the job's owner (root for root's jobs): the relay takes that uid's connection alone.
            // A job with its own network is dumped from inside it, where the node's loopback cannot be reached, and
            // a post-copy dump is handed its connection: root connects CRIU to the relay before it starts (see
            // Criu#dump), so the relay takes root's.
            boolean rootConnects = container.hasOwnNetwork() || mode == TransferMode.POST_COPY;
            relay = target.relayPages(rootConnects ? 0 : CriuSpecs.owner(container).map(JobOwner::uid).orElse(0));
        }
    }

    @Override
    public Criu.DumpSpec dumpSpec(Path postDumpScript) throws IOException {
        Optional<InetSocketAddress> pageServer = relay == null
                ? Optional.empty()
                : Optional.of(new InetSocketAddress("127.0.0.1", relay.port()));
        dumpStarted = true;
        return CriuSpecs.dump(container, images, pageServer, postDumpScript,
                Optional.ofNullable(network).map(n -> JobNetworks.NAMED_NAMESPACES.resolve(n.namespace())),
                mode == TransferMode.POST_COPY);
    }

    /**
     * Gives the dump up when the pages stop crossing to the target: a cut link would otherwise hold
     * CRIU, and the frozen job, until TCP itself gives up (many minutes). Closing the relay makes
     * CRIU's page-server writes fail, and CRIU then gives the tree back.
     */
    @Override
    public void checkDumpProgress() throws IOException {
        if (relay == null) {
            return;
        }
        long now = System.nanoTime();
        long bytes = relay.bytesToPeer();
        if (bytes != relayedBytes) {
            relayedBytes = bytes;
            relayProgressAt = now;
        } else if (bytes > 0 && now - relayProgressAt > RELAY_STALL_LIMIT.toNanos()) {
            relay.close();
            throw new IOException("no page reached the target for " + RELAY_STALL_LIMIT.toSeconds() + " s (after "
                    + bytes + " bytes): the link to it is down or stalled");
        }
    }

    @Override
    public void dumped(MoveFigures figures) throws Exception {
        // Post-copy: the memory has not moved yet; it crosses once the job runs on the target (see pagesArrived).
        if (relay != null && mode != TransferMode.POST_COPY) {
            if (!relay.awaitFinished(RELAY_DRAIN_TIMEOUT)) {
                throw new IOException("the page relay to the target did not finish within " + RELAY_DRAIN_TIMEOUT.toSeconds()
                        + " s after the dump", new TimeoutException());
            }
            figures.pageBytes = relay.bytesToPeer();
            figures.pageWireBytes = relay.wireBytesToPeer();
        }
        if (network != null) {
            // Its address goes down here before it comes up there: never on two nodes at once.
            networks.release(network);
        }
    }

    @Override
    public List<Phase> handOver(MoveFigures figures) {
        return List.of(
                new Phase(MigrationPhase.SEND_IMAGES, () -> {
                    if (mode != TransferMode.SHARED_FS) { // else the target reads the shared directory itself
                        TargetAgent.SentImages sent = target.sendImages(images);
                        figures.imageBytes = sent.bytes();
                        imagesSha256 = sent.sha256();
                        warnIfNotLazy(sent.bytes());
                    }
                }),
                new Phase(MigrationPhase.RESTORE, () -> {
                    TargetAgent.Restored restored = target.restore(imagesSha256);
                    figures.criuRestoreMillis = restored.criuMillis();
                    figures.criuRestore = restored.statistics().orElse(null);
                }),
                new Phase(MigrationPhase.CONFIRM, () -> {
                    if (!target.confirm()) {
                        throw new IOException("the target did not confirm that the restored container is ready");
                    }
                }));
    }

    /**
     * Seen once in 36 benchmark runs, not explained: CRIU marked none of a job's pages lazy and put
     * its memory in the images, so the move went on as a slow diskless one (frozen for seconds).
     * The move is still correct; the log says why its freeze was long.
     */
    private void warnIfNotLazy(long imageBytes) {
        if (mode == TransferMode.POST_COPY && imageBytes > residentBytes / 2) {
            LOG.warning("migration " + migrationId + ": CRIU put " + imageBytes + " bytes in the images of job " + jobId
                    + ", whose memory is " + residentBytes + " bytes: its memory crossed with them, not post-copy");
        }
    }

    @Override
    public void requeue() throws Exception {
        handover.requeue(jobId);
    }

    @Override
    public Optional<Phase> resume() {
        return Optional.of(new Phase(MigrationPhase.RESUME, target::resume));
    }

    @Override
    public Optional<Phase> place(long downtimeMillis) {
        return Optional.of(new Phase(MigrationPhase.PLACE, () -> handover.place(jobId, sourceNode, targetNode, downtimeMillis)));
    }

    /**
     * Post-copy, once the source's CRIU has ended: every page it served crossed the relay, and the
     * target says whether they all reached the job. If not, the target's guard has killed the job's
     * copy there: the job is lost (its memory was split across the two nodes when the failure came).
     */
    @Override
    public void pagesArrived(MoveFigures figures) throws Exception {
        boolean drained;
        try {
            drained = relay.awaitFinished(RELAY_DRAIN_TIMEOUT);
        } finally {
            figures.pageBytes = relay.bytesToPeer();
            figures.pageWireBytes = relay.wireBytesToPeer();
            relay.close();
        }
        // The target's verdict decides: its daemon knows whether every page reached the job, whatever
        // the relay still held when it was closed.
        TargetAgent.PagesArrived arrived = target.pagesArrived();
        if (!arrived.complete()) {
            throw new IOException("the job's memory did not all reach " + targetNode + ": " + arrived.failure()
                    + (drained ? "" : " (the page relay had not drained " + RELAY_DRAIN_TIMEOUT.toSeconds()
                    + " s after the source's CRIU ended)"));
        }
    }

    /**
     * Post-copy, while the target fetches the memory: gives the transfer up when pages stop crossing
     * (a cut link would otherwise keep the job on the target waiting for a page until TCP gives up,
     * many minutes): closing the relay ends the source's CRIU, and the target's daemon with it.
     */
    @Override
    public void checkPagesProgress() throws IOException {
        checkDumpProgress();
    }

    @Override
    public void cleanUp(MoveFigures figures) throws Exception {
        measurePagesInImages(figures);
        DirectoryTrees.delete(images);
        target.commit();
    }

    /**
     * A job with its own address: the target lets go of it before the source takes it back. Any
     * other job resumes first, so that an unreachable target (a cut link) does not keep it frozen.
     */
    @Override
    public void beforeSourceResumes(boolean dumped) throws Exception {
        if (relay != null) {
            relay.close();
        }
        if (network != null) {
            tellTargetToAbort();
            if (dumped) {
                networks.reclaim(network, container.initPid());
            }
        }
    }

    @Override
    public void afterSourceResumed(MoveFigures figures) throws IOException {
        if (network == null) {
            tellTargetToAbort();
        }
        measurePagesInImages(figures);
        DirectoryTrees.delete(images);
    }

    private void tellTargetToAbort() {
        if (!targetPrepared) {
            return;
        }
        try {
            target.abort();
        } catch (Exception e) {
            // The target may be the very thing that failed; its agent discards stale migrations at start.
            LOG.warning("migration " + migrationId + ": the target could not be told to discard it: " + e.getMessage());
        }
    }

    /**
     * Pages that went into the image files rather than through the relay (shared-fs, a job with its
     * own network), for the report: counted once the job runs again, since on a network file system
     * each file's size is a round trip to the server. Figures, never a reason to fail.
     */
    private void measurePagesInImages(MoveFigures figures) {
        if (relay != null || !dumpStarted) {
            return;
        }
        try {
            figures.pageBytes = DirectoryTrees.sizeOfPages(images);
            figures.pageWireBytes = figures.pageBytes;
        } catch (IOException e) {
            LOG.warning("migration " + migrationId + ": cannot count the pages in " + images + ": " + e.getMessage());
        }
    }
}
