package org.lifeboat.agent.migration;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.criu.CriuException;
import org.lifeboat.agent.criu.CriuRestoreStatistics;
import org.lifeboat.agent.criu.CriuStatsImage;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.migration.IncomingMigration.Event;
import org.lifeboat.agent.peer.ImageSpool;
import org.lifeboat.agent.peer.PeerRequestException;
import org.lifeboat.agent.peer.PeerRequestHandler;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.slurm.SlurmJob;

/**
 * The target side of migrations: what another node's agent may ask of this one, one migration
 * at a time per id, each request checked against the migration's state ({@link IncomingMigration}).
 * Nothing here runs before the source has authenticated (see the peer package).
 */
public final class IncomingMigrations implements PeerRequestHandler {

    static final String INCOMING = "incoming";
    static final String ROOTS = "roots";
    static final String CONFIRMED = "confirmed";
    /**
     * A source that has restored its job here asks for the confirmation, the resume and the commit
     * within milliseconds of each other: one that has said nothing for this long since, while Slurm
     * requeued the job, has been lost with its node.
     */
    public static final Duration SOURCE_SILENCE = Duration.ofSeconds(10);
    /**
     * How long a migration may go without a word from its source before this node gives it up:
     * longer than a source's post-dump wait for its decision ({@link PostDumpHook#DECISION_LIMIT}),
     * after which that source has rolled back for certain, and its job runs there.
     */
    public static final Duration SILENCE_LIMIT = PostDumpHook.DECISION_LIMIT.plusMinutes(5);
    private static final Logger LOG = Logger.getLogger(IncomingMigrations.class.getName());
    // The source asks once its dump has served the last page: the daemon here ends with the same exchange.
    static final Duration PAGES_ARRIVED_WAIT = Duration.ofSeconds(20);

    private final IncomingMigrationTable table;
    private final Path checkpointDirectory;
    private final Optional<Path> sharedDirectory;
    private final PageServers pageServers;
    private final CopyRestorer restorer;
    private final ContainerProcesses processes;
    private final RestoredCopies restoredCopies;
    private final ConfirmedCopies confirmedCopies;
    private final IncomingCleanup cleanup;
    private final TargetScheduler scheduler;
    private final MigrationGate gate;
    private final Executor background;
    private final Clock clock;
    private final ObjectMapper json = AgentJson.mapper();

    /**
     * @param sharedDirectory this node's mount of the shared directory: a shared-fs source names the
     *        images by migration id in it, since the file system may be mounted elsewhere on each node
     * @param scheduler the jobs as Slurm sees them: a requeue raises a job's restart count, which tells
     *        this agent whether a source, or Slurm for a lost source node, requeued it
     * @param gate refuses every migration to this node while it cannot restore (CRIU unusable)
     * @param background where Slurm is read off a request's path
     */
    public IncomingMigrations(IncomingMigrationTable table, Path checkpointDirectory, Optional<Path> sharedDirectory,
                              PageServers pageServers, CopyRestorer restorer, ContainerProcesses processes,
                              RestoredCopies restoredCopies, ConfirmedCopies confirmedCopies, IncomingCleanup cleanup,
                              TargetScheduler scheduler, MigrationGate gate, Executor background, Clock clock) {
        this.table = Objects.requireNonNull(table, "table");
        this.checkpointDirectory = Objects.requireNonNull(checkpointDirectory, "checkpointDirectory");
        this.sharedDirectory = Objects.requireNonNull(sharedDirectory, "sharedDirectory");
        this.pageServers = Objects.requireNonNull(pageServers, "pageServers");
        this.restorer = Objects.requireNonNull(restorer, "restorer");
        this.processes = Objects.requireNonNull(processes, "processes");
        this.restoredCopies = Objects.requireNonNull(restoredCopies, "restoredCopies");
        this.confirmedCopies = Objects.requireNonNull(confirmedCopies, "confirmedCopies");
        this.cleanup = Objects.requireNonNull(cleanup, "cleanup");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.gate = Objects.requireNonNull(gate, "gate");
        this.background = Objects.requireNonNull(background, "background");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    public ObjectNode call(String request, ObjectNode message) throws PeerRequestException {
        try {
            return switch (request) {
                case "prepare" -> prepare(message);
                case "restore" -> restore(PeerMessages.read(request, message, RestoreRequest.class));
                case "confirm" -> handling(existing(request, message), Event.CONFIRM, this::confirm);
                case "resume" -> handling(existing(request, message), Event.RESUME, this::resume);
                case "pages-arrived" -> handling(existing(request, message), Event.PAGES_ARRIVED, this::pagesArrived);
                case "commit" -> handling(existing(request, message), Event.COMMIT, this::commit);
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
        return handling(existing(request, message), Event.IMAGES, migration -> {
            long free = Files.getFileStore(migration.images).getUsableSpace();
            // Spooled, not unpacked: only the restore request seals the tar's digest.
            long bytes = new ImageSpool(migration.images).receive(body, free);
            LOG.info("migration " + migration.id + ": received an image tar of " + bytes + " bytes");
            // The peer server adds the stream's own size and digest to the reply.
            return json.createObjectNode();
        });
    }

    @Override
    public CompletableFuture<SocketChannel> pipe(String request, ObjectNode message) throws PeerRequestException {
        if (!request.equals("pages")) {
            throw new PeerRequestException("unknown-request", "unknown pipe '" + request + "'");
        }
        IncomingMigration migration = existing(request, message);
        migration.lock.lock();
        try {
            return migration.transition(Event.PAGES, () -> {
                if (migration.mode == TransferMode.POST_COPY) {
                    // The lazy-pages daemon starts with the restore; the source's dump holds its end of the relay
                    // from the start of the dump, and sends nothing before the daemon asks.
                    if (migration.lazyPagesRelayed.getAndSet(true)) {
                        throw new PeerRequestException("conflict", "migration " + migration.id + " already relays its pages");
                    }
                    return migration.lazyPages;
                }
                // The page server serves one connection: it goes to the first relay, and only to it.
                SocketChannel pageServer = migration.pageServer.getAndSet(null);
                if (pageServer == null) {
                    throw new PeerRequestException("conflict", "migration " + migration.id + " has no page server waiting"
                            + " (mode " + migration.mode.wireName() + ")");
                }
                return CompletableFuture.completedFuture(pageServer);
            }).orElseThrow();
        } finally {
            migration.lock.unlock();
        }
    }

    private interface Step {
        ObjectNode on(IncomingMigration migration) throws PeerRequestException, IOException;
    }

    /** A request of the source being handled counts as hearing from it, for as long as it takes. */
    private ObjectNode handling(IncomingMigration migration, Event event, Step step) throws PeerRequestException, IOException {
        migration.requestsInHand.incrementAndGet();
        migration.lock.lock();
        try {
            return migration.transition(event, () -> step.on(migration)).orElseGet(json::createObjectNode);
        } finally {
            migration.lock.unlock();
            migration.requestsInHand.decrementAndGet();
            migration.lastHeard = clock.instant();
        }
    }

    private ObjectNode prepare(ObjectNode message) throws PeerRequestException, IOException {
        PrepareRequest request = PeerMessages.read("prepare", message, PrepareRequest.class);
        String id = request.migration();
        gate.requireOpenToReceive(id);
        try {
            gate.requireMode(request.mode(), "migration " + id + " to this node");
        } catch (MigrationException e) {
            throw new PeerRequestException("unsupported", e.getMessage());
        }
        TransferMode mode = request.mode();
        long jobId = request.job();
        // Slurm's view of the job before the move (its restart count, its node: the source), read while the
        // source dumps rather than before it: the confirmation waits for it, and only after that may the source
        // requeue the job, which raises the count (see TargetRecovery and OrphanTakeOver).
        CompletableFuture<SlurmJob> jobBefore = CompletableFuture.supplyAsync(() -> {
            try {
                return scheduler.job(jobId);
            } catch (Exception e) {
                throw new CompletionException(e);
            }
        }, background);
        Path images;
        if (mode.copiesImages()) {
            images = checkpointDirectory.resolve(INCOMING).resolve(id);
        } else {
            images = sharedDirectory.orElseThrow(() -> new PeerRequestException("unsupported",
                    "this node has no shared-directory configured, so it cannot take a shared-fs migration")).resolve(id);
            if (!Files.isDirectory(images)) {
                throw new PeerRequestException("not-found", "the shared image directory " + id + " is not visible in "
                        + images.getParent() + " on this node: is the same file system mounted there?");
            }
        }
        IncomingMigration migration = new IncomingMigration(id, jobId, request.uid(), request.gid(),
                mode, request.manifest(), request.network(), images, CheckpointDirectories.restoreRoot(checkpointDirectory, id), jobBefore, clock.instant(),
                System.nanoTime());
        if (!table.add(migration)) {
            throw new PeerRequestException("conflict", "migration " + id + " is already prepared");
        }
        try {
            if (mode.copiesImages()) {
                Files.createDirectories(images);
                long free = Files.getFileStore(images).getUsableSpace();
                if (free < request.expectedBytes()) {
                    throw new PeerRequestException("no-space", "not enough space for the images in " + checkpointDirectory
                            + ": " + free + " bytes free, " + request.expectedBytes() + " needed");
                }
                if (request.pageServer()) {
                    migration.pageServer.set(pageServers.start(images));
                }
            }
        } catch (PeerRequestException | IOException | RuntimeException e) {
            discardUnprepared(migration);
            throw e;
        } catch (CriuException e) {
            discardUnprepared(migration);
            throw new PeerRequestException("criu", e.getMessage());
        }
        LOG.info("migration " + id + ": prepared to receive job " + jobId + " (" + mode.wireName() + ") in " + images);
        return json.createObjectNode();
    }

    private void discardUnprepared(IncomingMigration migration) throws PeerRequestException {
        migration.lock.lock();
        try {
            migration.transition(Event.PREPARE_FAILED, () -> {
                cleanup.discard(migration);
                return null;
            });
        } finally {
            migration.lock.unlock();
        }
    }

    private ObjectNode restore(RestoreRequest request) throws PeerRequestException, IOException {
        return handling(find(request.migration(), request.job()), Event.RESTORE, migration -> restore(migration, request));
    }

    private ObjectNode restore(IncomingMigration migration, RestoreRequest request) throws PeerRequestException, IOException {
        if (migration.mode.copiesImages()) {
            long bytes = new ImageSpool(migration.images).unpack(Optional.ofNullable(request.imagesSha256()).orElse(""),
                    Files.getFileStore(migration.images).getUsableSpace());
            LOG.info("migration " + migration.id + ": the image tar matches its sealed digest; " + bytes + " bytes unpacked");
        }
        try {
            restorer.restore(migration);
        } catch (Exception e) {
            throw new PeerRequestException("restore-failed", e.getMessage());
        }
        return PeerMessages.write(new TargetReplies.Restored(migration.restoredPid, migration.criuMillis,
                restoreStatistics(migration).orElse(null)));
    }

    /** CRIU's own figures for the restore, for the source's report; never a reason to fail the restore. */
    private static Optional<CriuRestoreStatistics> restoreStatistics(IncomingMigration migration) {
        try {
            return CriuStatsImage.readRestore(migration.images);
        } catch (IOException e) {
            LOG.warning("migration " + migration.id + ": " + e.getMessage());
            return Optional.empty();
        }
    }

    /** Vouches for the restored container: whole, and stopped, so it has done nothing yet. */
    private ObjectNode confirm(IncomingMigration migration) throws PeerRequestException, IOException {
        if (!processes.isAlive(migration.restoredPid) || !processes.allStopped(migration.restoredPid)) {
            throw new PeerRequestException("restore-failed", "the restored container (pid " + migration.restoredPid
                    + ") is not alive and stopped after the restore; see " + migration.images.resolve("restore.log"));
        }
        SlurmJob before = migration.jobBefore().orElseThrow(() -> new PeerRequestException("internal", "cannot read job "
                + migration.jobId + " from Slurm: " + migration.jobBeforeFailure()));
        // From here the source may requeue the job: should this agent stop before the source's resume,
        // the copy must not be lost, and a requeued job started here must wait for it, not start afresh.
        confirmedCopies.keep(migration, before.restarts());
        return PeerMessages.write(new TargetReplies.Confirmed(true, migration.restoredPid));
    }

    /** After the point of no return: the job is this node's now, and its container goes on. */
    private ObjectNode resume(IncomingMigration migration) throws PeerRequestException, IOException {
        try {
            restoredCopies.resume(migration.id, migration.jobId, migration.uid, migration.gid, migration.manifest, migration.network,
                    migration.restoredPid);
        } catch (CommandException e) {
            throw new PeerRequestException("internal", "cannot resume the restored container: " + e.getMessage());
        }
        try {
            confirmedCopies.forget(migration.id);
        } catch (IOException e) {
            // The copy runs: the migration is RESUMED whatever this says. A record left behind only has a restarted
            // agent resume the running copy once more, which changes nothing.
            LOG.warning("migration " + migration.id + ": cannot remove its confirmed record: " + e.getMessage());
        }
        LOG.info("migration " + migration.id + ": job " + migration.jobId + " runs here now (pid " + migration.restoredPid + ")");
        return json.createObjectNode();
    }

    /**
     * Post-copy, once the source's dump has ended: whether the lazy-pages daemon here fetched every
     * page (the guard's verdict). A daemon that failed had its restored tree killed by the guard.
     */
    private ObjectNode pagesArrived(IncomingMigration migration) throws PeerRequestException, IOException {
        if (migration.mode != TransferMode.POST_COPY) {
            throw new PeerRequestException("conflict", "migration " + migration.id + " is " + migration.mode.wireName()
                    + ", not post-copy: its pages came with the dump");
        }
        Optional<String> verdict;
        try {
            verdict = LazyPages.awaitVerdict(migration.images, PAGES_ARRIVED_WAIT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PeerRequestException("internal", "interrupted while waiting for the lazy-pages daemon");
        }
        String text = verdict.orElse("the lazy-pages daemon still runs " + PAGES_ARRIVED_WAIT.toSeconds()
                + " s after the source's dump ended");
        boolean complete = LazyPages.complete(text);
        LOG.log(complete ? Level.INFO : Level.SEVERE, "migration " + migration.id + ": job " + migration.jobId
                + (complete ? ": every page has arrived" : ": its memory did not all arrive: " + text));
        return PeerMessages.write(new TargetReplies.PagesArrived(complete, complete ? null : text));
    }

    private ObjectNode commit(IncomingMigration migration) {
        table.remove(migration);
        LOG.info("migration " + migration.id + ": committed");
        cleanup.deleteWhenDone(migration);
        return json.createObjectNode();
    }

    private ObjectNode abort(ObjectNode message) throws PeerRequestException {
        MigrationRequest request = PeerMessages.read("abort", message, MigrationRequest.class);
        String id = request.migration();
        if (table.wasTakenOver(id)) {
            throw new PeerRequestException("conflict", "migration " + id + " was taken over here after its source was lost:"
                    + " job " + request.job() + " runs here");
        }
        Optional<IncomingMigration> found = table.get(id);
        if (found.isEmpty()) {
            return json.createObjectNode();
        }
        IncomingMigration migration = found.get();
        // Not while a step of it (a take-over included) is under way: a copy being started here is not discarded.
        migration.lock.lock();
        try {
            migration.transition(Event.ABORT, () -> {
                cleanup.discard(migration);
                LOG.info("migration " + id + ": aborted by the source, job " + migration.jobId + " discarded here");
                return null;
            });
        } finally {
            migration.lock.unlock();
        }
        return json.createObjectNode();
    }

    private IncomingMigration existing(String request, ObjectNode message) throws PeerRequestException {
        MigrationRequest named = PeerMessages.read(request, message, MigrationRequest.class);
        return find(named.migration(), named.job());
    }

    private IncomingMigration find(String id, long job) throws PeerRequestException {
        IncomingMigration migration = table.get(id).orElseThrow(() -> new PeerRequestException(
                "unknown-migration", "no migration " + id + " is in progress here"));
        if (migration.jobId != job) {
            throw new PeerRequestException("malformed", "migration " + id + " is of job " + migration.jobId + ", not " + job);
        }
        migration.lastHeard = clock.instant();
        return migration;
    }
}
