package org.lifeboat.agent.migration;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.container.RestoreRoot;
import org.lifeboat.agent.criu.Criu;
import org.lifeboat.agent.criu.CriuRestoreStatistics;
import org.lifeboat.agent.criu.CriuStatsImage;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.network.JobNetwork;
import org.lifeboat.agent.network.JobNetworks;
import org.lifeboat.agent.peer.ImageSpool;
import org.lifeboat.agent.peer.PeerRequestException;
import org.lifeboat.agent.peer.PeerRequestHandler;
import org.lifeboat.agent.registry.JobRegistry;
import org.lifeboat.agent.slurm.SlurmJob;
import org.lifeboat.agent.storage.AtomicFiles;

/**
 * The target side of migrations: what another node's agent may ask of this one, one migration
 * at a time per id. Nothing here runs before the source has authenticated (see the peer package).
 */
public final class IncomingMigrations implements PeerRequestHandler {

    static final String INCOMING = "incoming";
    static final String ROOTS = "roots";
    static final String CONFIRMED = "confirmed";
    // After CONFIRM the source requeues the job within milliseconds, or never: a restarted target that
    // sees no requeue for this long knows the source kept the job.
    static final Duration REQUEUE_WAIT = Duration.ofSeconds(30);
    /**
     * A source that has restored its job here asks for the confirmation, the resume and the commit
     * within milliseconds of each other: one that has said nothing for this long since, while Slurm
     * requeued the job, has been lost with its node.
     */
    public static final Duration SOURCE_SILENCE = Duration.ofSeconds(10);
    private static final Duration SLURM_READ_WAIT = Duration.ofSeconds(30);
    private static final Duration RECOVERY_POLL = Duration.ofSeconds(1);
    private static final Duration CRIU_TIMEOUT = Duration.ofMinutes(30);
    // In the images directory: created by the agent, root's alone (see Criu.startPageServer).
    private static final String PAGE_SERVER_SOCKET_DIRECTORY = "page-server-socket";
    private static final Logger LOG = Logger.getLogger(IncomingMigrations.class.getName());

    private final Path checkpointDirectory;
    private final Optional<Path> sharedDirectory;
    private final Criu criu;
    private final RestoreRoot restoreRoots;
    private final ContainerProcesses processes;
    private final JobRegistry registry;
    private final JobNetworks networks;
    private final String uplink;
    private final ResumeMarkers resumeMarkers;
    private final TargetScheduler scheduler;
    private final Runnable tookOver;
    private final Clock clock;
    private final ObjectMapper json = AgentJson.mapper();
    private final Map<String, Incoming> migrations = new ConcurrentHashMap<>();
    // Taken over here after their source was lost: that source, back, is told the job runs here.
    private final java.util.Set<String> takenOver = ConcurrentHashMap.newKeySet();
    // Slurm reads and deletions made off a request's path; daemon threads, so they never hold the agent's
    // exit (a deletion cut short is finished by discardStale at the next start).
    private final ExecutorService background = Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "lifeboat-incoming-background");
        thread.setDaemon(true);
        return thread;
    });

    /**
     * @param sharedDirectory this node's mount of the shared directory: a shared-fs source names the
     *        images by migration id in it, since the file system may be mounted elsewhere on each node
     * @param uplink the node's interface that jobs' own interfaces (macvlans) are made on
     * @param scheduler the jobs as Slurm sees them (a requeue raises a job's restart count, which tells this
     *        agent whether a source, or Slurm for a lost source node, requeued it), and starting one here
     * @param tookOver told each time a job runs here after its source node was lost (a metric)
     */
    public IncomingMigrations(Path checkpointDirectory, Optional<Path> sharedDirectory, Criu criu, RestoreRoot restoreRoots,
                              ContainerProcesses processes, JobRegistry registry, JobNetworks networks, String uplink,
                              ResumeMarkers resumeMarkers, TargetScheduler scheduler, Runnable tookOver, Clock clock) {
        this.checkpointDirectory = Objects.requireNonNull(checkpointDirectory, "checkpointDirectory");
        this.sharedDirectory = Objects.requireNonNull(sharedDirectory, "sharedDirectory");
        this.criu = Objects.requireNonNull(criu, "criu");
        this.restoreRoots = Objects.requireNonNull(restoreRoots, "restoreRoots");
        this.processes = Objects.requireNonNull(processes, "processes");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.networks = Objects.requireNonNull(networks, "networks");
        this.uplink = Objects.requireNonNull(uplink, "uplink");
        this.resumeMarkers = Objects.requireNonNull(resumeMarkers, "resumeMarkers");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.tookOver = Objects.requireNonNull(tookOver, "tookOver");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * How long a migration may go without a word from its source before this node gives it up:
     * longer than a source's post-dump wait for its decision ({@link PostDumpHook#DECISION_LIMIT}),
     * after which that source has rolled back for certain, and its job runs there.
     */
    public static final Duration SILENCE_LIMIT = PostDumpHook.DECISION_LIMIT.plusMinutes(5);

    /**
     * Discards the migrations whose source has said nothing for {@code silence}: a source that
     * died, or lost this node, after PREPARE, leaves a page server, images in the tmpfs and maybe
     * a stopped restored copy behind, which nothing else would ever remove. A migration this node
     * has confirmed is kept: after the confirmation the source may have requeued the job, and the
     * copy here may be its only one ({@link #recoverConfirmed} decides those). So is one whose
     * source is still being served: a request in hand (a long restore, a tar stream being read), or
     * images still growing (CRIU's page server taking pages).
     *
     * @return the ids of the migrations discarded
     */
    public List<String> discardSilent(Duration silence) {
        Instant cutoff = clock.instant().minus(silence);
        List<String> discarded = new ArrayList<>();
        for (Incoming incoming : migrations.values()) {
            if (incoming.confirmed || incoming.resumed || incoming.startedHere || incoming.requestsInHand.get() > 0) {
                continue;
            }
            // Pages arrive through CRIU's page server (or the source's CRIU writes the shared images)
            // with no request of ours in between: growing images count as hearing from the source.
            // A page server merely alive does not: after a cut link it waits for good.
            long imageBytes = bytesIn(incoming.images);
            if (imageBytes != incoming.imageBytesSeen) {
                incoming.imageBytesSeen = imageBytes;
                incoming.lastHeard = clock.instant();
            }
            if (!incoming.lastHeard.isBefore(cutoff)) {
                continue;
            }
            discard(incoming);
            discarded.add(incoming.id);
            LOG.warning("migration " + incoming.id + ": its source has sent nothing since " + incoming.lastHeard
                    + " (longer than " + silence.toMinutes() + " min): job " + incoming.jobId
                    + " discarded here, the source has rolled back");
        }
        return discarded;
    }

    /** What becomes of a restored copy whose source fell silent, by what Slurm says of its job. */
    enum OrphanStep {
        /** Slurm has not requeued the job (the source, or its node, still holds it), or is in the middle of it. */
        WAIT,
        /** Slurm requeued the job: it is pinned to this node and let start now, its copy kept stopped until then. */
        START_HERE,
        /** The job runs on this node, and its batch script waits for the copy (the resume marker): resume it. */
        RESUME_HERE,
        /** The job went on without this copy (it started afresh elsewhere, or ended): the copy goes. */
        GIVE_UP
    }

    // States a requeued job passes through, or is held in, on its way back to PENDING or RUNNING.
    private static final java.util.Set<String> PASSING_STATES = java.util.Set.of("COMPLETING", "CONFIGURING", "REQUEUED",
            "REQUEUE_FED", "REQUEUE_HOLD", "SPECIAL_EXIT", "RESIZING", "SIGNALING", "STAGE_OUT", "SUSPENDED");

    /**
     * @param restartsBefore the job's restart count when this node prepared for it
     * @param startedHere this node has pinned the requeued job to itself
     * @param waitedFor a requeued job started here waits for the copy: the "restoring" resume marker is there
     */
    static OrphanStep orphanStep(SlurmJob job, int restartsBefore, boolean startedHere, boolean waitedFor, String thisNode) {
        if (job.restarts() <= restartsBefore) {
            return OrphanStep.WAIT;
        }
        String state = job.state();
        if (state.equals("PENDING")) {
            return startedHere ? OrphanStep.WAIT : OrphanStep.START_HERE;
        }
        if (state.equals("RUNNING")) {
            return waitedFor && thisNode.equals(job.nodeList()) ? OrphanStep.RESUME_HERE : OrphanStep.GIVE_UP;
        }
        return PASSING_STATES.contains(state) ? OrphanStep.WAIT : OrphanStep.GIVE_UP;
    }

    /**
     * Takes over the jobs whose source node was lost after their copy was restored here. The source
     * keeps its job frozen until this node has restored and confirmed it; when the whole source node
     * dies in that window (after DUMP), its copy dies with it, and the stopped copy here is the job's
     * only checkpoint. Slurm notices the node gone ({@code SlurmdTimeout}) and requeues the job, which
     * raises its restart count: then the job is pinned to this node and let start at once, its batch
     * script (lifeboat-run) waits on the resume marker, and once Slurm runs it here the copy is resumed
     * where it was frozen. Until Slurm requeues the job nothing is done: a source that is merely slow,
     * or cut off from this node alone, still holds it, and Slurm does not requeue a job whose node answers.
     *
     * @return the ids of the migrations whose job now runs here
     */
    public List<String> takeOverOrphans(Duration silence, String thisNode) {
        Instant cutoff = clock.instant().minus(silence);
        List<String> resumed = new ArrayList<>();
        for (Incoming incoming : migrations.values()) {
            if (incoming.restoredPid == 0 || incoming.resumed || incoming.requestsInHand.get() > 0
                    || !incoming.lastHeard.isBefore(cutoff) || !incoming.lock.tryLock()) {
                continue;
            }
            try {
                if (!incoming.resumed && migrations.get(incoming.id) == incoming && takeOverStep(incoming, thisNode)) {
                    resumed.add(incoming.id);
                }
            } finally {
                incoming.lock.unlock();
            }
        }
        return resumed;
    }

    private boolean takeOverStep(Incoming incoming, String thisNode) {
        Optional<SlurmJob> before = jobBefore(incoming);
        if (before.isEmpty()) {
            return false;
        }
        SlurmJob now;
        try {
            now = scheduler.job(incoming.jobId);
        } catch (Exception e) {
            LOG.warning("migration " + incoming.id + ": its source is silent and Slurm cannot tell about job " + incoming.jobId
                    + " (" + e.getMessage() + "); its copy here stays stopped");
            return false;
        }
        String source = Optional.ofNullable(before.get().nodeList()).orElse("its source");
        OrphanStep step = orphanStep(now, before.get().restarts(), incoming.startedHere, incoming.confirmed || incoming.startedHere,
                thisNode);
        try {
            switch (step) {
                case WAIT -> {
                    return false;
                }
                case START_HERE -> {
                    // The requeued job started here must wait for the copy, not start its workload afresh; and when
                    // its batch step starts, the step takes the copy into its cgroups (it is registered first).
                    keepStoppedCopy(incoming, before.get().restarts());
                    registry.restoredHere(incoming.jobId, incoming.uid, incoming.gid, incoming.manifest.withInitPid(incoming.restoredPid));
                    scheduler.pinHere(incoming.jobId);
                    incoming.startedHere = true;
                    long downtime = (System.nanoTime() - incoming.preparedNanos) / 1_000_000;
                    scheduler.startHere(incoming.jobId, source, downtime);
                    LOG.warning("migration " + incoming.id + ": " + source + " has said nothing for " + silenceSeconds(incoming)
                            + " s and Slurm requeued job " + incoming.jobId + " (node lost): the job is started here, from"
                            + " its copy restored here (pid " + incoming.restoredPid + ")");
                    return false;
                }
                case RESUME_HERE -> {
                    registry.restoredHere(incoming.jobId, incoming.uid, incoming.gid, incoming.manifest.withInitPid(incoming.restoredPid));
                    resumeMarkers.write(incoming.jobId, incoming.uid, incoming.restoredPid);
                    processes.resume(incoming.restoredPid);
                    incoming.resumed = true;
                    takenOver.add(incoming.id);
                    tookOver.run();
                    LOG.warning("migration " + incoming.id + ": job " + incoming.jobId + " runs here, resumed from the copy"
                            + " restored before " + source + " was lost (pid " + incoming.restoredPid + ")");
                    forget(incoming);
                    return true;
                }
                case GIVE_UP -> {
                    LOG.warning("migration " + incoming.id + ": job " + incoming.jobId + " went on without the copy here (Slurm"
                            + " has it " + now.state() + (now.nodeList() == null ? "" : " on " + now.nodeList())
                            + "): the copy goes");
                    discard(incoming);
                    if (incoming.startedHere) {
                        registry.jobEnded(incoming.jobId);
                    }
                    return false;
                }
                default -> throw new IllegalStateException(step.name());
            }
        } catch (Exception e) {
            LOG.warning("migration " + incoming.id + ": taking over job " + incoming.jobId + " (" + step + ") failed, tried again"
                    + " at the next sweep: " + e.getMessage());
            return false;
        }
    }

    private long silenceSeconds(Incoming incoming) {
        return Duration.between(incoming.lastHeard, clock.instant()).toSeconds();
    }

    /** A migration taken over here: no source will commit it, so its images and restore root go now. */
    private void forget(Incoming incoming) throws IOException {
        migrations.remove(incoming.id, incoming);
        Files.deleteIfExists(confirmedRecord(incoming.id));
        deleteWhenDone(incoming);
    }

    /** Slurm's view of the job when this node prepared for it, once read. */
    private Optional<SlurmJob> jobBefore(Incoming incoming) {
        try {
            return Optional.of(incoming.jobBefore.get(SLURM_READ_WAIT.toMillis(), TimeUnit.MILLISECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        } catch (ExecutionException | TimeoutException e) {
            return Optional.empty();
        }
    }

    private static long bytesIn(Path images) {
        try (Stream<Path> files = Files.walk(images)) {
            return files.filter(Files::isRegularFile).mapToLong(file -> file.toFile().length()).sum();
        } catch (IOException | java.io.UncheckedIOException e) {
            return -1;
        }
    }

    /** Migrations to this node under way now: prepared, not yet committed or discarded. */
    public int inFlight() {
        return migrations.size();
    }

    /**
     * Removes what migrations left when this agent stopped in the middle of them: their sources
     * have rolled back (they could not reach the point of no return without this agent) — except
     * a migration this agent had confirmed, whose restored, stopped copy may be the job's only one
     * now ({@link #recoverConfirmed}).
     */
    public void discardStale() throws IOException {
        recoverConfirmed();
        Path roots = checkpointDirectory.resolve(ROOTS);
        if (Files.isDirectory(roots)) {
            try (Stream<Path> stale = Files.list(roots)) {
                for (Path root : (Iterable<Path>) stale::iterator) {
                    unmountQuietly(root);
                }
            }
        }
        Migrator.deleteTree(checkpointDirectory.resolve(INCOMING));
        Migrator.deleteTree(roots);
    }

    /**
     * Migrations this agent had confirmed when it stopped, before the source's resume reached it.
     * The source may have passed its point of no return (requeued the job, killed its copy): then
     * the stopped copy restored here is the job's only one, and it is resumed and handed to the
     * requeued job; or the source kept the job: then the copy here goes. Slurm's restart count
     * says which: the source requeues within milliseconds of the confirmation, so a count still
     * unchanged after {@link #REQUEUE_WAIT} means it never will. Decided in the background, while
     * the "restoring" resume marker written at the confirmation keeps a requeued job started here
     * waiting; a copy whose Slurm state cannot be read is kept, stopped, and asked about again.
     */
    private void recoverConfirmed() throws IOException {
        Path confirmed = checkpointDirectory.resolve(CONFIRMED);
        if (!Files.isDirectory(confirmed)) {
            return;
        }
        try (Stream<Path> records = Files.list(confirmed)) {
            for (Path record : (Iterable<Path>) records::iterator) {
                ConfirmedMigration migration;
                try {
                    migration = json.readValue(record.toFile(), ConfirmedMigration.class);
                } catch (IOException e) {
                    LOG.severe("unreadable record of a confirmed migration " + record + " (kept): " + e.getMessage());
                    continue;
                }
                if (!isTheRestoredCopy(migration)) {
                    LOG.severe("migration " + migration.migration() + ": the copy of job " + migration.job() + " restored here"
                            + " (pid " + migration.pid() + ") is gone; nothing here to resume");
                    resumeMarkers.remove(migration.job());
                    Files.deleteIfExists(record);
                    continue;
                }
                LOG.warning("migration " + migration.migration() + ": this agent stopped after confirming job " + migration.job()
                        + " (restored as pid " + migration.pid() + "); asking Slurm whether the source requeued it");
                Thread decider = new Thread(() -> decide(migration, record), "lifeboat-recover-" + migration.migration());
                decider.setDaemon(true);
                decider.start();
            }
        }
    }

    private boolean isTheRestoredCopy(ConfirmedMigration migration) {
        try {
            return processes.isAlive(migration.pid()) && resumeMarkers.startTime(migration.pid()) == migration.startTime();
        } catch (IOException e) {
            return false;
        }
    }

    private void decide(ConfirmedMigration migration, Path record) {
        long unchangedSince = System.nanoTime();
        try {
            while (true) {
                int now;
                try {
                    now = scheduler.job(migration.job()).restarts();
                } catch (Exception e) {
                    LOG.warning("migration " + migration.migration() + ": cannot read job " + migration.job()
                            + " from Slurm (" + e.getMessage() + "); its copy here stays stopped");
                    unchangedSince = System.nanoTime();
                    Thread.sleep(RECOVERY_POLL.toMillis());
                    continue;
                }
                if (now > migration.restartsBefore()) {
                    resumeHere(migration);
                    break;
                }
                if (System.nanoTime() - unchangedSince > REQUEUE_WAIT.toNanos()) {
                    LOG.info("migration " + migration.migration() + ": job " + migration.job() + " was never requeued: the"
                            + " source kept it; its copy here goes");
                    processes.kill(migration.pid());
                    if (migration.network() != null) {
                        networks.delete(migration.network());
                    }
                    resumeMarkers.remove(migration.job());
                    break;
                }
                Thread.sleep(RECOVERY_POLL.toMillis());
            }
            Files.deleteIfExists(record);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.severe("migration " + migration.migration() + ": recovering job " + migration.job() + " failed (record "
                    + record + " kept): " + e.getMessage());
        }
    }

    /** The source requeued the job and killed its copy: the one here is resumed, as the source's resume would have. */
    private void resumeHere(ConfirmedMigration migration) throws Exception {
        registry.restoredHere(migration.job(), migration.uid(), migration.gid(), migration.manifest().withInitPid(migration.pid()));
        resumeMarkers.write(migration.job(), migration.uid(), migration.pid());
        processes.resume(migration.pid());
        LOG.warning("migration " + migration.migration() + ": job " + migration.job() + " was requeued by its source:"
                + " its copy restored here before this agent stopped runs now (pid " + migration.pid() + ")");
    }

    private Path confirmedRecord(String migrationId) throws IOException {
        Path directory = checkpointDirectory.resolve(CONFIRMED);
        Files.createDirectories(directory);
        return directory.resolve(migrationId + ".json");
    }

    /** What this agent keeps of a migration it confirmed, until the source's resume (or its recovery) is done. */
    record ConfirmedMigration(
            @JsonProperty("migration") String migration,
            @JsonProperty("job") long job,
            @JsonProperty("uid") int uid,
            @JsonProperty("gid") int gid,
            @JsonProperty("pid") long pid,
            @JsonProperty("start-time") long startTime,
            @JsonProperty("restarts-before") int restartsBefore,
            @JsonProperty("manifest") ContainerManifest manifest,
            @JsonProperty("network") JobNetwork network) {}

    @Override
    public ObjectNode call(String request, ObjectNode message) throws PeerRequestException {
        try {
            return switch (request) {
                case "prepare" -> prepare(message);
                case "restore" -> handling(existing(message), incoming -> restore(incoming, message));
                case "confirm" -> handling(existing(message), this::confirm);
                case "resume" -> handling(existing(message), this::resume);
                case "commit" -> handling(existing(message), this::commit);
                case "abort" -> abort(message);
                default -> throw new PeerRequestException("unknown-request", "unknown request '" + request + "'");
            };
        } catch (IOException e) {
            throw new PeerRequestException("internal", request + " failed: " + e.getMessage());
        }
    }

    @Override
    public ObjectNode receive(String request, ObjectNode message, InputStream body) throws PeerRequestException, IOException {
        if (!request.equals("images")) {
            throw new PeerRequestException("unknown-request", "unknown upload '" + request + "'");
        }
        return handling(existing(message), incoming -> {
            long free = Files.getFileStore(incoming.images).getUsableSpace();
            // Spooled, not unpacked: only the restore request seals the tar's digest.
            long bytes = new ImageSpool(incoming.images).receive(body, free);
            LOG.info("migration " + incoming.id + ": received an image tar of " + bytes + " bytes");
            // The peer server adds the stream's own size and digest to the reply.
            return json.createObjectNode();
        });
    }

    private interface Step {
        ObjectNode on(Incoming incoming) throws PeerRequestException, IOException;
    }

    /** A request of the source being handled counts as hearing from it, for as long as it takes. */
    private ObjectNode handling(Incoming incoming, Step step) throws PeerRequestException, IOException {
        incoming.requestsInHand.incrementAndGet();
        // One step at a time per migration, a take-over by this node (takeOverOrphans) included.
        incoming.lock.lock();
        try {
            return step.on(incoming);
        } finally {
            incoming.lock.unlock();
            incoming.requestsInHand.decrementAndGet();
            incoming.lastHeard = clock.instant();
        }
    }

    @Override
    public SocketChannel pipe(String request, ObjectNode message) throws PeerRequestException {
        if (!request.equals("pages")) {
            throw new PeerRequestException("unknown-request", "unknown pipe '" + request + "'");
        }
        Incoming incoming = existing(message);
        // The page server serves one connection: it goes to the first relay, and only to it.
        SocketChannel pageServer = incoming.pageServer.getAndSet(null);
        if (pageServer == null) {
            throw new PeerRequestException("conflict", "migration " + incoming.id + " has no page server waiting (mode "
                    + incoming.mode.wireName() + ")");
        }
        return pageServer;
    }

    private ObjectNode prepare(ObjectNode message) throws PeerRequestException, IOException {
        String id = migrationId(message);
        TransferMode mode;
        ContainerManifest manifest;
        JobNetwork network;
        try {
            mode = TransferMode.fromWireName(message.path("mode").asText());
            manifest = json.treeToValue(message.path("manifest"), ContainerManifest.class);
            network = message.has("network") ? json.treeToValue(message.path("network"), JobNetwork.class) : null;
        } catch (IllegalArgumentException | JsonProcessingException e) {
            throw new PeerRequestException("malformed", "prepare: " + e.getMessage());
        }
        long expectedBytes = message.path("expected-bytes").asLong();
        long jobId = message.path("job").asLong();
        // Slurm's view of the job before the move (its restart count, its node: the source), read while the
        // source dumps rather than before it: the confirmation waits for it, and only after that may the source
        // requeue the job, which raises the count (see recoverConfirmed and takeOverOrphans).
        CompletableFuture<SlurmJob> jobBefore = CompletableFuture.supplyAsync(() -> {
            try {
                return scheduler.job(jobId);
            } catch (Exception e) {
                throw new CompletionException(e);
            }
        }, background);
        Path images;
        if (mode == TransferMode.DISKLESS) {
            images = checkpointDirectory.resolve(INCOMING).resolve(id);
        } else {
            images = sharedDirectory.orElseThrow(() -> new PeerRequestException("unsupported",
                    "this node has no shared-directory configured, so it cannot take a shared-fs migration")).resolve(id);
            if (!Files.isDirectory(images)) {
                throw new PeerRequestException("not-found", "the shared image directory " + id + " is not visible in "
                        + images.getParent() + " on this node: is the same file system mounted there?");
            }
        }
        Incoming incoming = new Incoming(id, jobId, message.path("uid").asInt(),
                message.path("gid").asInt(), mode, manifest, network, images, checkpointDirectory.resolve(ROOTS).resolve(id),
                jobBefore, clock.instant(), System.nanoTime());
        if (migrations.putIfAbsent(id, incoming) != null) {
            throw new PeerRequestException("conflict", "migration " + id + " is already prepared");
        }
        try {
            if (mode == TransferMode.DISKLESS) {
                Files.createDirectories(images);
                long free = Files.getFileStore(images).getUsableSpace();
                if (free < expectedBytes) {
                    throw new PeerRequestException("no-space", "not enough space for the images in " + checkpointDirectory
                            + ": " + free + " bytes free, " + expectedBytes + " needed");
                }
                if (message.path("page-server").asBoolean(true)) {
                    incoming.pageServer.set(criu.startPageServer(images, images.resolve(PAGE_SERVER_SOCKET_DIRECTORY),
                            CRIU_TIMEOUT).connection());
                }
            }
        } catch (PeerRequestException | IOException | RuntimeException e) {
            discard(incoming);
            throw e;
        } catch (org.lifeboat.agent.criu.CriuException e) {
            discard(incoming);
            throw new PeerRequestException("criu", e.getMessage());
        }
        LOG.info("migration " + id + ": prepared to receive job " + incoming.jobId + " (" + mode.wireName() + ") in " + images);
        return json.createObjectNode();
    }

    private ObjectNode restore(Incoming incoming, ObjectNode message) throws PeerRequestException, IOException {
        if (incoming.mode == TransferMode.DISKLESS) {
            long bytes = new ImageSpool(incoming.images).unpack(message.path("images-sha256").asText(""),
                    Files.getFileStore(incoming.images).getUsableSpace());
            LOG.info("migration " + incoming.id + ": the image tar matches its sealed digest; " + bytes + " bytes unpacked");
        }
        LOG.info("migration " + incoming.id + ": restoring job " + incoming.jobId + " from its images");
        try {
            restoreRoots.build(incoming.root, incoming.manifest);
            if (incoming.network != null) {
                // The source released the address after its dump: it comes up here before the sockets bind to it.
                networks.create(incoming.network, uplink);
                incoming.networkCreated = true;
            }
            long started = System.nanoTime();
            try {
                // Diskless images are a copy: until the source hears the confirmation it holds the job frozen, and a
                // failed restore resumes it there, so CRIU may free each page as it restores it (the node then holds
                // the job's memory once, not twice). Shared-fs images stay whole, as the shared copy they are.
                incoming.restoredPid = criu.restore(CriuSpecs.restore(incoming.manifest, incoming.images, incoming.root,
                        Optional.ofNullable(incoming.network).map(n -> JobNetworks.NAMED_NAMESPACES.resolve(n.namespace())),
                        CRIU_TIMEOUT, incoming.mode == TransferMode.DISKLESS));
            } finally {
                // The restored container holds its own copy of the root mount.
                restoreRoots.unmount(incoming.root);
            }
            incoming.criuMillis = (System.nanoTime() - started) / 1_000_000;
            if (incoming.network != null) {
                networks.announce(incoming.network);
            }
        } catch (Exception e) {
            throw new PeerRequestException("restore-failed", e.getMessage());
        }
        LOG.info("migration " + incoming.id + ": job " + incoming.jobId + " restored as pid " + incoming.restoredPid);
        ObjectNode reply = json.createObjectNode();
        reply.put("pid", incoming.restoredPid);
        reply.put("criu-millis", incoming.criuMillis);
        restoreStatistics(incoming).ifPresent(statistics -> reply.set("criu-stats", json.valueToTree(statistics)));
        return reply;
    }

    /** CRIU's own figures for the restore, for the source's report; never a reason to fail the restore. */
    private static Optional<CriuRestoreStatistics> restoreStatistics(Incoming incoming) {
        try {
            return CriuStatsImage.readRestore(incoming.images);
        } catch (IOException e) {
            LOG.warning("migration " + incoming.id + ": " + e.getMessage());
            return Optional.empty();
        }
    }

    /** Vouches for the restored container: whole, and stopped, so it has done nothing yet. */
    private ObjectNode confirm(Incoming incoming) throws PeerRequestException, IOException {
        if (incoming.restoredPid == 0) {
            throw new PeerRequestException("conflict", "migration " + incoming.id + " has not been restored");
        }
        if (!processes.isAlive(incoming.restoredPid) || !processes.allStopped(incoming.restoredPid)) {
            throw new PeerRequestException("restore-failed", "the restored container (pid " + incoming.restoredPid
                    + ") is not alive and stopped after the restore; see " + incoming.images.resolve("restore.log"));
        }
        if (incoming.startedHere) {
            throw new PeerRequestException("conflict", "migration " + incoming.id + " was taken over here after its source"
                    + " fell silent and Slurm requeued job " + incoming.jobId);
        }
        SlurmJob before = jobBefore(incoming).orElseThrow(() -> new PeerRequestException("internal", "cannot read job "
                + incoming.jobId + " from Slurm: " + incoming.jobBeforeFailure()));
        // From here the source may requeue the job: should this agent stop before the source's resume,
        // the copy must not be lost, and a requeued job started here must wait for it, not start afresh.
        keepStoppedCopy(incoming, before.restarts());
        incoming.confirmed = true;
        ObjectNode reply = json.createObjectNode();
        reply.put("ready", true);
        reply.put("pid", incoming.restoredPid);
        return reply;
    }

    /**
     * Makes the stopped copy outlive this agent: a requeued job started here waits for it (the
     * "restoring" resume marker), and an agent restarted finds it (recoverConfirmed).
     */
    private void keepStoppedCopy(Incoming incoming, int restartsBefore) throws IOException {
        resumeMarkers.writeRestoring(incoming.jobId, incoming.uid);
        AtomicFiles.write(confirmedRecord(incoming.id), json.writeValueAsBytes(new ConfirmedMigration(incoming.id,
                incoming.jobId, incoming.uid, incoming.gid, incoming.restoredPid, resumeMarkers.startTime(incoming.restoredPid),
                restartsBefore, incoming.manifest, incoming.network)));
    }

    /**
     * After the point of no return: the job is this node's now. It is registered, lifeboat-run is
     * told (for when Slurm starts the requeued job here), and the container goes on.
     */
    private ObjectNode resume(Incoming incoming) throws IOException, PeerRequestException {
        if (incoming.resumed) {
            // Taken over here (the source fell silent after Slurm requeued the job) and only late to say so.
            return json.createObjectNode();
        }
        if (incoming.restoredPid == 0) {
            throw new PeerRequestException("conflict", "migration " + incoming.id + " has not been restored");
        }
        registry.restoredHere(incoming.jobId, incoming.uid, incoming.gid, incoming.manifest.withInitPid(incoming.restoredPid));
        resumeMarkers.write(incoming.jobId, incoming.uid, incoming.restoredPid);
        try {
            processes.resume(incoming.restoredPid);
        } catch (org.lifeboat.agent.process.CommandException e) {
            throw new PeerRequestException("internal", "cannot resume the restored container: " + e.getMessage());
        }
        incoming.resumed = true;
        Files.deleteIfExists(confirmedRecord(incoming.id));
        LOG.info("migration " + incoming.id + ": job " + incoming.jobId + " runs here now (pid " + incoming.restoredPid + ")");
        return json.createObjectNode();
    }

    private ObjectNode commit(Incoming incoming) {
        migrations.remove(incoming.id);
        LOG.info("migration " + incoming.id + ": committed");
        deleteWhenDone(incoming);
        return json.createObjectNode();
    }

    /**
     * Deletes a finished migration's images and restore root after the reply: freeing a GiB of
     * tmpfs takes ~50 ms, which the source need not wait for.
     */
    private void deleteWhenDone(Incoming incoming) {
        background.execute(() -> {
            try {
                // Shared-fs images are the source's: it deletes them before it commits, and on a network file
                // system this node's cached view of them may still say they exist.
                if (incoming.mode == TransferMode.DISKLESS) {
                    Migrator.deleteTree(incoming.images);
                }
                Migrator.deleteTree(incoming.root);
                LOG.info("migration " + incoming.id + ": images of job " + incoming.jobId + " removed");
            } catch (IOException | RuntimeException e) {
                LOG.warning("migration " + incoming.id + ": removing its images failed (the agent's next start removes"
                        + " them): " + e.getMessage());
            }
        });
    }

    private ObjectNode abort(ObjectNode message) throws PeerRequestException {
        String id = migrationId(message);
        if (takenOver.contains(id)) {
            throw new PeerRequestException("conflict", "migration " + id + " was taken over here after its source was lost:"
                    + " job " + message.path("job").asLong() + " runs here");
        }
        Incoming incoming = migrations.get(id);
        if (incoming == null) {
            return json.createObjectNode();
        }
        // Not while a step of it (a take-over included) is under way: a copy being started here is not discarded.
        incoming.lock.lock();
        try {
            if (incoming.resumed || incoming.startedHere) {
                // Only a source that has not requeued the job aborts; this one must have lost track.
                throw new PeerRequestException("conflict", "migration " + incoming.id + " is past its point of no return:"
                        + " job " + incoming.jobId + " runs here");
            }
            discard(incoming);
        } finally {
            incoming.lock.unlock();
        }
        LOG.info("migration " + incoming.id + ": aborted by the source, job " + incoming.jobId + " discarded here");
        return json.createObjectNode();
    }

    /** Undoes whatever this migration set up here: a restored copy, the page server, the images. */
    private void discard(Incoming incoming) {
        migrations.remove(incoming.id, incoming);
        try {
            // A page server no relay took ends when its connection does.
            SocketChannel pageServer = incoming.pageServer.getAndSet(null);
            if (pageServer != null) {
                pageServer.close();
            }
            if (incoming.restoredPid != 0 && processes.isAlive(incoming.restoredPid)) {
                processes.kill(incoming.restoredPid);
            }
            unmountQuietly(incoming.root);
            if (incoming.networkCreated) {
                networks.delete(incoming.network);
            }
            if (incoming.mode == TransferMode.DISKLESS) {
                Migrator.deleteTree(incoming.images);
            }
            Migrator.deleteTree(incoming.root);
            if (incoming.confirmed || incoming.startedHere) {
                resumeMarkers.remove(incoming.jobId);
                Files.deleteIfExists(confirmedRecord(incoming.id));
            }
        } catch (Exception e) {
            LOG.warning("migration " + incoming.id + ": discarding it left something behind: " + e.getMessage());
        }
    }

    private void unmountQuietly(Path root) {
        try {
            if (Files.isDirectory(root) && isMountPoint(root)) {
                restoreRoots.unmount(root);
            }
        } catch (Exception e) {
            LOG.warning("cannot unmount " + root + ": " + e.getMessage());
        }
    }

    private static boolean isMountPoint(Path path) throws IOException {
        return !Files.getFileStore(path).equals(Files.getFileStore(path.getParent()));
    }

    private Incoming existing(ObjectNode message) throws PeerRequestException {
        String id = migrationId(message);
        Incoming incoming = migrations.get(id);
        if (incoming == null) {
            throw new PeerRequestException("unknown-migration", "no migration " + id + " is in progress here");
        }
        incoming.lastHeard = clock.instant();
        return incoming;
    }

    private static String migrationId(ObjectNode message) throws PeerRequestException {
        String id = message.path("migration").asText("");
        // Ids become directory names: keep them to a safe alphabet.
        if (!id.matches("[A-Za-z0-9-]{1,64}")) {
            throw new PeerRequestException("malformed", "bad migration id '" + id + "'");
        }
        return id;
    }

    /** One incoming migration's state. */
    private static final class Incoming {
        final String id;
        final long jobId;
        final int uid;
        final int gid;
        final TransferMode mode;
        final ContainerManifest manifest;
        final JobNetwork network;
        final Path images;
        final Path root;
        // The agent's end of the page server's connection, until a relay takes it.
        final AtomicReference<SocketChannel> pageServer = new AtomicReference<>();
        volatile long imageBytesSeen;
        final java.util.concurrent.atomic.AtomicInteger requestsInHand = new java.util.concurrent.atomic.AtomicInteger();
        volatile Instant lastHeard;
        volatile boolean networkCreated;
        volatile long restoredPid;
        volatile long criuMillis;
        volatile boolean resumed;
        volatile boolean confirmed;
        // Taken over: its source fell silent, Slurm requeued the job, and this node pinned it here.
        volatile boolean startedHere;
        final CompletableFuture<SlurmJob> jobBefore;
        final long preparedNanos;
        final ReentrantLock lock = new ReentrantLock();

        Incoming(String id, long jobId, int uid, int gid, TransferMode mode, ContainerManifest manifest, JobNetwork network,
                 Path images, Path root, CompletableFuture<SlurmJob> jobBefore, Instant lastHeard, long preparedNanos) {
            this.jobBefore = jobBefore;
            this.preparedNanos = preparedNanos;
            this.lastHeard = lastHeard;
            this.id = id;
            this.jobId = jobId;
            this.uid = uid;
            this.gid = gid;
            this.mode = mode;
            this.manifest = manifest;
            this.network = network;
            this.images = images;
            this.root = root;
        }

        String jobBeforeFailure() {
            try {
                jobBefore.getNow(null);
                return "no answer yet";
            } catch (CompletionException | java.util.concurrent.CancellationException e) {
                Throwable cause = e.getCause() == null ? e : e.getCause();
                return cause.getMessage();
            }
        }
    }
}
