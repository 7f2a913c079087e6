package org.lifeboat.agent.migration;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.criu.Criu;
import org.lifeboat.agent.criu.CriuDumpStatistics;
import org.lifeboat.agent.criu.CriuRestoreStatistics;
import org.lifeboat.agent.criu.CriuStatsImage;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.network.JobNetwork;
import org.lifeboat.agent.network.JobNetworks;
import org.lifeboat.agent.peer.ImageArchive;
import org.lifeboat.agent.peer.PageRelay;
import org.lifeboat.agent.peer.PeerClient;
import org.lifeboat.agent.peer.PeerRequestException;

/**
 * The source side of a migration: walks the phases of {@link MigrationPhase} for one container,
 * and rolls back on any failure before the point of no return.
 */
public final class Migrator {

    // A dump of many GiB over a slow link takes minutes, then waits for the decision; a hung CRIU must still end.
    private static final Duration CRIU_TIMEOUT = Duration.ofMinutes(30).plus(PostDumpHook.DECISION_LIMIT);
    private static final Duration RELAY_DRAIN_TIMEOUT = Duration.ofSeconds(60);
    // Pages flow steadily once they start; this long without one and the link is taken for lost.
    static final Duration RELAY_STALL_LIMIT = Duration.ofSeconds(10);
    // Page-server images are ~RSS; the rest (tree, files, tmpfs contents) is small, but not zero.
    private static final long IMAGE_OVERHEAD_BYTES = 64L << 20;
    private static final Logger LOG = Logger.getLogger(Migrator.class.getName());

    private final String nodeName;
    private final Path checkpointDirectory;
    private final Optional<Path> sharedDirectory;
    private final Criu criu;
    private final ContainerProcesses processes;
    private final PeerConnector peers;
    private final JobNetworks networks;
    private final Path postDumpScript;
    private final JobHandover handover;
    private final Clock clock;
    private final MigrationObserver observer;
    private final AtomicInteger inFlight = new AtomicInteger();
    // CRIU's dump runs on its own thread while this one walks the phases around it.
    private final ExecutorService criuRuns = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "lifeboat-criu-dump");
        thread.setDaemon(true);
        return thread;
    });
    private final ObjectMapper json = AgentJson.mapper();

    /** Opens an authenticated connection to another node's agent. */
    @FunctionalInterface
    public interface PeerConnector {
        PeerClient connect(String node, InetSocketAddress peer);
    }

    /**
     * @param postDumpScript CRIU's action script (see {@link PostDumpHook}), installed by the agent at start
     * @param handover how the scheduler moves the job itself once its container is ready on the target
     * @param observer told of every migration's report once it has ended
     */
    public Migrator(String nodeName, Path checkpointDirectory, Optional<Path> sharedDirectory, Criu criu,
                    ContainerProcesses processes, PeerConnector peers, JobNetworks networks, Path postDumpScript,
                    JobHandover handover, Clock clock, MigrationObserver observer) {
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
        this.checkpointDirectory = Objects.requireNonNull(checkpointDirectory, "checkpointDirectory");
        this.sharedDirectory = Objects.requireNonNull(sharedDirectory, "sharedDirectory");
        this.criu = Objects.requireNonNull(criu, "criu");
        this.processes = Objects.requireNonNull(processes, "processes");
        this.peers = Objects.requireNonNull(peers, "peers");
        this.networks = Objects.requireNonNull(networks, "networks");
        this.postDumpScript = Objects.requireNonNull(postDumpScript, "postDumpScript");
        this.handover = Objects.requireNonNull(handover, "handover");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.observer = Objects.requireNonNull(observer, "observer");
    }

    /** Migrations from this node under way now. */
    public int inFlight() {
        return inFlight.get();
    }

    /**
     * Moves the container to the target. Never throws for a failed migration: the report says
     * whether the job moved or was rolled back, and why.
     */
    public MigrationReport migrate(long jobId, ContainerManifest container, String targetNode, InetSocketAddress targetPeer,
                                   TransferMode mode) {
        inFlight.incrementAndGet();
        try {
            MigrationReport report = walkPhases(jobId, container, targetNode, targetPeer, mode);
            try {
                observer.migrationEnded(report);
            } catch (RuntimeException e) {
                // Metrics and history must never turn a migration's outcome into an error.
                LOG.log(Level.WARNING, "migration " + report.migrationId() + ": recording its report failed", e);
            }
            return report;
        } finally {
            inFlight.decrementAndGet();
        }
    }

    private MigrationReport walkPhases(long jobId, ContainerManifest container, String targetNode, InetSocketAddress targetPeer,
                                       TransferMode mode) {
        String migrationId = "job" + jobId + "-" + UUID.randomUUID().toString().substring(0, 8);
        Instant started = clock.instant();
        long startedNanos = System.nanoTime();
        PhaseTimer phases = new PhaseTimer(migrationId);
        Run run = new Run(migrationId, jobId, container, mode, new TargetRecord.Target(targetNode, targetPeer),
                peers.connect(targetNode, targetPeer));
        LOG.info("migration " + migrationId + ": job " + jobId + " from " + nodeName + " to " + targetNode
                + " (" + targetPeer + "), " + mode.wireName());
        try {
            phases.run(MigrationPhase.PREPARE_TARGET, run::prepareTarget);
            run.frozenAt = System.nanoTime();
            phases.run(MigrationPhase.DUMP, run::dump);
            phases.run(MigrationPhase.SEND_IMAGES, run::sendImages);
            phases.run(MigrationPhase.RESTORE, run::restore);
            phases.run(MigrationPhase.CONFIRM, run::confirm);
            phases.run(MigrationPhase.REQUEUE, run::requeue);
        } catch (Exception failure) {
            String cause = failure.getMessage();
            try {
                phases.run(MigrationPhase.ROLLBACK, run::rollBack);
            } catch (Exception rollbackFailure) {
                cause += "; rollback incomplete: " + rollbackFailure.getMessage();
            }
            return report(run, targetNode, started, startedNanos, phases, MigrationReport.ROLLED_BACK, cause, 0);
        }
        // The point of no return: Slurm has taken the job off this node. Failures from here on can
        // delay its start on the target or leave litter, never bring back the copy here.
        LOG.info("migration " + migrationId + ": point of no return, job " + jobId + " requeued for " + targetNode);
        String failure = null;
        try {
            phases.run(MigrationPhase.RESUME, run::resume);
        } catch (Exception resumeFailure) {
            failure = "resume on " + targetNode + ": " + resumeFailure.getMessage();
        }
        long downtime = (System.nanoTime() - run.frozenAt) / 1_000_000;
        LOG.info("migration " + migrationId + ": job " + jobId + " runs on " + targetNode + " after " + downtime + " ms frozen");
        try {
            phases.run(MigrationPhase.PLACE, () -> handover.place(jobId, nodeName, targetNode, downtime));
        } catch (Exception placeFailure) {
            failure = append(failure, "placing the requeued job on " + targetNode + ": " + placeFailure.getMessage());
        }
        try {
            phases.run(MigrationPhase.CLEANUP, run::cleanUp);
        } catch (Exception cleanupFailure) {
            failure = append(failure, "cleanup: " + cleanupFailure.getMessage());
        }
        return report(run, targetNode, started, startedNanos, phases,
                failure == null ? MigrationReport.MIGRATED : MigrationReport.CLEANUP_FAILED, failure, downtime);
    }

    private static String append(String first, String next) {
        return first == null ? next : first + "; " + next;
    }

    /** Where each outgoing migration keeps its control files (and, when diskless, its images): this node's disk. */
    public static Path outgoingDirectory(Path checkpointDirectory) {
        return checkpointDirectory.resolve("outgoing");
    }

    /**
     * At start: deals with the migrations this agent was running when it stopped (diskless and shared-fs alike:
     * each has its control directory on this node). Before
     * the requeue, CRIU has given the job back already (its post-dump script watches this agent),
     * so the target is told to discard its part and the images go. After the requeue started,
     * nothing is touched: CRIU keeps the copy frozen until its decision limit, Slurm has (or has
     * not) requeued the job, and the images may still be the job's only checkpoint.
     */
    public void recoverInterrupted() {
        Path outgoing = outgoingDirectory(checkpointDirectory);
        if (!Files.isDirectory(outgoing)) {
            return;
        }
        try (Stream<Path> interrupted = Files.list(outgoing)) {
            for (Path images : (Iterable<Path>) interrupted::iterator) {
                recover(images);
            }
        } catch (IOException e) {
            LOG.warning("cannot look for interrupted migrations in " + outgoing + ": " + e.getMessage());
        }
    }

    private void recover(Path control) {
        String migrationId = control.getFileName().toString();
        // A shared-fs migration's images are in the shared directory, under the same name.
        Optional<Path> sharedImages = sharedDirectory.map(shared -> shared.resolve(migrationId)).filter(Files::isDirectory);
        if (PostDumpHook.requeueStarted(control)) {
            LOG.warning("migration " + migrationId + " was interrupted after its requeue started: its images in "
                    + sharedImages.orElse(control) + " are kept; CRIU keeps the source copy frozen until its decision limit");
            return;
        }
        try {
            Optional<TargetRecord.Target> target = TargetRecord.read(control);
            boolean targetRunsTheJob = false;
            if (target.isPresent()) {
                ObjectNode abort = json.createObjectNode();
                abort.put("migration", migrationId);
                abort.put("job", TargetRecord.jobOf(migrationId));
                try {
                    peers.connect(target.get().node(), target.get().address()).call("abort", abort);
                } catch (PeerRequestException e) {
                    // The target took the job over: this whole node was lost after the restore there, and Slurm
                    // requeued the job meanwhile (see IncomingMigrations#takeOverOrphans).
                    targetRunsTheJob = e.code().equals("conflict");
                    LOG.warning("migration " + migrationId + ": the target " + target.get() + " refused to discard it: "
                            + e.getMessage());
                } catch (Exception e) {
                    LOG.warning("migration " + migrationId + ": the target " + target.get() + " could not be told to discard it: "
                            + e.getMessage());
                }
            }
            if (PostDumpHook.dumped(control)) {
                // A copy left here, frozen by a CRIU still waiting for its decision, must never run beside the target's.
                if (targetRunsTheJob) {
                    PostDumpHook.commit(control);
                } else {
                    PostDumpHook.rollBack(control);
                }
            }
            if (sharedImages.isPresent()) {
                deleteTree(sharedImages.get());
            }
            deleteTree(control);
            LOG.info("migration " + migrationId + " was interrupted by this agent's stop before its requeue: "
                    + (targetRunsTheJob ? "its target runs the job now" : "rolled back"));
        } catch (IOException e) {
            LOG.warning("cannot clean up the interrupted migration " + migrationId + ": " + e.getMessage());
        }
    }

    private MigrationReport report(Run run, String targetNode, Instant started, long startedNanos, PhaseTimer phases,
                                   String outcome, String cause, long downtimeMillis) {
        String reason = outcome.equals(MigrationReport.MIGRATED) ? null
                : phases.firstFailure().orElse(FailureReason.OTHER).wireName();
        MigrationReport report = new MigrationReport(run.migrationId, run.jobId, nodeName, targetNode, run.mode.wireName(),
                outcome, cause, started, phases.millis(), (System.nanoTime() - startedNanos) / 1_000_000, downtimeMillis,
                run.criuDumpMillis, run.criuRestoreMillis, run.pageBytes, run.pageWireBytes, run.imageBytes, run.container.uid(), reason,
                run.criuDumpStatistics, run.criuRestoreStatistics);
        LOG.info("migration " + run.migrationId + ": " + outcome + (cause == null ? "" : " (" + cause + ")")
                + ", phases " + phases.millis());
        return report;
    }

    /** One migration's state on the source. */
    private final class Run {
        final String migrationId;
        final long jobId;
        final ContainerManifest container;
        final TransferMode mode;
        final TargetRecord.Target targetPeer;
        final PeerClient target;
        final Path images;
        // On this node's disk: the target record and CRIU's post-dump decisions (the images themselves when diskless).
        final Path control;
        PageRelay relay;
        JobNetwork network;
        Future<?> criuDump;
        long frozenAt;
        long criuDumpMillis;
        long criuRestoreMillis;
        long pageBytes;
        long pageWireBytes;
        long imageBytes;
        String imagesSha256;
        CriuDumpStatistics criuDumpStatistics;
        CriuRestoreStatistics criuRestoreStatistics;
        boolean targetPrepared;
        long relayedBytes = -1;
        long relayProgressAt;

        Run(String migrationId, long jobId, ContainerManifest container, TransferMode mode, TargetRecord.Target targetPeer,
            PeerClient target) {
            this.migrationId = migrationId;
            this.jobId = jobId;
            this.container = container;
            this.mode = mode;
            this.targetPeer = targetPeer;
            this.target = target;
            this.images = mode == TransferMode.DISKLESS
                    ? outgoingDirectory(checkpointDirectory).resolve(migrationId)
                    : sharedDirectory.orElseThrow(() -> new IllegalStateException("no shared-directory configured"))
                            .resolve(migrationId);
            // Where CRIU's post-dump script looks (for diskless, the image directory itself).
            this.control = PostDumpHook.controlDirectory(outgoingDirectory(checkpointDirectory), images);
        }

        void prepareTarget() throws Exception {
            Files.createDirectories(control);
            TargetRecord.write(control, targetPeer);
            Files.createDirectories(images);
            if (container.networkNamespace() != null) {
                network = networks.describe(JobNetworks.namespaceName(Path.of(container.networkNamespace())));
            }
            // CRIU dumps a job with its own network from inside that namespace, where the relay on this
            // node's loopback cannot be reached: its memory goes into the local images and the tar instead.
            boolean relayPages = mode == TransferMode.DISKLESS && network == null;
            if (!relayPages) {
                long free = Files.getFileStore(images).getUsableSpace();
                if (free < expectedImageBytes()) {
                    throw new IOException("not enough space for the images in " + images.getParent() + ": " + free
                            + " bytes free, " + expectedImageBytes() + " needed");
                }
            }
            ObjectNode request = request();
            request.put("uid", container.uid());
            request.put("gid", container.gid());
            request.put("mode", mode.wireName());
            request.put("expected-bytes", expectedImageBytes());
            request.set("manifest", json.valueToTree(container));
            request.put("page-server", relayPages);
            if (network != null) {
                request.set("network", json.valueToTree(network));
            }
            target.call("prepare", request);
            targetPrepared = true;
            if (relayPages) {
                relay = target.relay("pages", request());
            }
        }

        void dump() throws Exception {
            Optional<InetSocketAddress> pageServer = relay == null
                    ? Optional.empty()
                    : Optional.of(new InetSocketAddress("127.0.0.1", relay.port()));
            Criu.DumpSpec spec = CriuSpecs.dump(container, images, pageServer, postDumpScript,
                    Optional.ofNullable(network).map(n -> JobNetworks.NAMED_NAMESPACES.resolve(n.namespace())), CRIU_TIMEOUT);
            long started = System.nanoTime();
            criuDump = criuRuns.submit(() -> {
                criu.dump(spec);
                return null;
            });
            // The dump is complete when CRIU reaches post-dump; it then holds the tree for our decision.
            PostDumpHook.awaitDumped(control, criuDump, this::checkRelayProgress);
            criuDumpMillis = (System.nanoTime() - started) / 1_000_000;
            // Were any of it still running here, restoring it there would run the job twice.
            if (!processes.allStopped(container.initPid())) {
                throw new IOException("after the dump, the container (init pid " + container.initPid() + ") is not frozen");
            }
            if (relay != null) {
                if (!relay.awaitFinished(RELAY_DRAIN_TIMEOUT)) {
                    throw new IOException("the page relay to the target did not finish within " + RELAY_DRAIN_TIMEOUT.toSeconds()
                            + " s after the dump", new TimeoutException());
                }
                pageBytes = relay.bytesToPeer();
                pageWireBytes = relay.wireBytesToPeer();
            }
            if (network != null) {
                // Its address goes down here before it comes up there: never on two nodes at once.
                networks.release(network);
            }
        }

        /**
         * Gives the dump up when the pages stop crossing to the target: a cut link would otherwise
         * hold CRIU, and the frozen job, until TCP itself gives up (many minutes). Closing the relay
         * makes CRIU's page-server writes fail, and CRIU then gives the tree back.
         */
        private void checkRelayProgress() throws IOException {
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

        void sendImages() throws Exception {
            if (mode == TransferMode.SHARED_FS) {
                return; // the target reads the shared directory itself
            }
            ObjectNode sent = target.send("images", request(), output -> ImageArchive.write(images, output));
            imageBytes = sent.path("bytes").asLong();
            // PeerClient checked it is the digest of what was sent: sealed into restore, it lets the target check the tar.
            imagesSha256 = sent.path("sha256").asText();
        }

        void restore() throws Exception {
            ObjectNode restore = request();
            if (imagesSha256 != null) {
                restore.put("images-sha256", imagesSha256);
            }
            ObjectNode reply = target.call("restore", restore);
            criuRestoreMillis = reply.path("criu-millis").asLong();
            if (reply.hasNonNull("criu-stats")) {
                try {
                    criuRestoreStatistics = json.treeToValue(reply.get("criu-stats"), CriuRestoreStatistics.class);
                } catch (JsonProcessingException e) {
                    // Figures only: a target that words them differently still restored the job.
                    LOG.warning("migration " + migrationId + ": the target's CRIU statistics are unreadable: " + e.getOriginalMessage());
                }
            }
        }

        void confirm() throws Exception {
            if (!target.call("confirm", request()).path("ready").asBoolean()) {
                throw new IOException("the target did not confirm that the restored container is ready");
            }
        }

        void requeue() throws Exception {
            PostDumpHook.requeuing(control);
            handover.requeue(jobId);
        }

        void resume() throws Exception {
            // Whatever happens to this call, the source copy must go: the job now belongs to the target.
            try {
                target.call("resume", request());
            } finally {
                // Killed before CRIU hears "commit": whatever CRIU does next, the source copy cannot run again.
                processes.kill(container.initPid());
                PostDumpHook.commit(control);
            }
        }

        void cleanUp() throws Exception {
            awaitCriu();
            readDumpStatistics();
            measurePagesInImages();
            deleteImages();
            target.call("commit", request());
        }

        void rollBack() throws Exception {
            Exception first = null;
            if (relay != null) {
                relay.close();
            }
            // A job with its own address: the target lets go of it before the source takes it back. Any other
            // job resumes first, so that an unreachable target (a cut link) does not keep it frozen meanwhile.
            if (network != null) {
                tellTargetToAbort();
            }
            if (criuDump != null) {
                try {
                    if (network != null && PostDumpHook.dumped(control)) {
                        networks.reclaim(network, container.initPid());
                    }
                    if (PostDumpHook.dumped(control)) {
                        // CRIU unlocks the network, takes TCP out of repair mode and resumes the tree.
                        PostDumpHook.rollBack(control);
                    }
                    awaitCriu();
                } catch (Exception e) {
                    first = e;
                }
                if (processes.isAlive(container.initPid()) && processes.allStopped(container.initPid())) {
                    processes.resume(container.initPid());
                }
            }
            if (network == null) {
                tellTargetToAbort();
            }
            measurePagesInImages();
            deleteImages();
            if (first != null) {
                throw first;
            }
        }

        private void tellTargetToAbort() {
            if (!targetPrepared) {
                return;
            }
            try {
                target.call("abort", request());
            } catch (Exception e) {
                // The target may be the very thing that failed; its agent discards stale migrations at start.
                LOG.warning("migration " + migrationId + ": the target could not be told to discard it: " + e.getMessage());
            }
        }

        /** Waits for CRIU to finish after the decision; its exit status no longer matters (rollback makes it 1). */
        private void awaitCriu() throws InterruptedException {
            PostDumpHook.awaitExit("migration " + migrationId, criuDump);
        }

        /**
         * Pages that went into the image files rather than through the relay (shared-fs, a job with its own
         * network), for the report: counted once the job runs again, since on a network file system each file's
         * size is a round trip to the server. Figures, never a reason to fail.
         */
        private void measurePagesInImages() {
            if (relay != null || criuDump == null) {
                return;
            }
            try {
                pageBytes = sizeOfPages(images);
                pageWireBytes = pageBytes;
            } catch (IOException e) {
                LOG.warning("migration " + migrationId + ": cannot count the pages in " + images + ": " + e.getMessage());
            }
        }

        /** CRIU writes its statistics once it has let go of the tree; they are figures, never a reason to fail. */
        private void readDumpStatistics() {
            try {
                criuDumpStatistics = CriuStatsImage.readDump(images).orElse(null);
            } catch (IOException e) {
                LOG.warning("migration " + migrationId + ": " + e.getMessage());
            }
        }

        private ObjectNode request() {
            ObjectNode request = json.createObjectNode();
            request.put("migration", migrationId);
            request.put("job", jobId);
            return request;
        }

        private long expectedImageBytes() throws IOException {
            return processes.residentBytes(container.initPid()) + IMAGE_OVERHEAD_BYTES;
        }

        private void deleteImages() throws IOException {
            deleteTree(images);
            // Last: while it is there, a restarted agent finds the migration (and its shared images) to clean up.
            deleteTree(control);
        }
    }

    static long sizeOfPages(Path images) throws IOException {
        try (Stream<Path> files = Files.list(images)) {
            long total = 0;
            for (Path file : (Iterable<Path>) files::iterator) {
                if (file.getFileName().toString().startsWith("pages-")) {
                    total += Files.size(file);
                }
            }
            return total;
        }
    }

    static void deleteTree(Path directory) throws IOException {
        if (!Files.exists(directory)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(directory)) {
            for (Path path : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(path);
            }
        }
    }
}
