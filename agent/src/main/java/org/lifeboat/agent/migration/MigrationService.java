package org.lifeboat.agent.migration;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.logging.Logger;
import org.lifeboat.agent.container.ApptainerInstances;
import org.lifeboat.agent.container.CgroupAdopter;
import org.lifeboat.agent.container.ContainerLocator;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.criu.Criu;
import org.lifeboat.agent.peer.PeerClient;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.registry.JobRecord;
import org.lifeboat.agent.registry.JobRegistry;
import org.lifeboat.agent.registry.RegistryException;
import org.lifeboat.agent.registry.StepRecord;
import org.lifeboat.agent.slurm.SlurmClient;
import org.lifeboat.agent.slurm.SlurmJob;

/**
 * Starts migrations of this node's registered jobs: checks Slurm can requeue the job, lets Slurm
 * choose the target when none is named, finds the job's container, and makes sure a job is never
 * migrated twice at once (a second request for a job on the move waits for the first's outcome).
 * Also puts a restored container into its requeued job's cgroups once Slurm starts the job here.
 */
public final class MigrationService {

    private static final Logger LOG = Logger.getLogger(MigrationService.class.getName());
    // A staying part waits this long, frozen, for the coordinator's word before it asks Slurm.
    private static final Duration PART_DECISION_TIMEOUT = Duration.ofMinutes(5);

    private final String nodeName;
    private final JobRegistry registry;
    private final ContainerLocator locator;
    private final ApptainerInstances apptainer;
    private final SlurmClient slurm;
    private final int peerPort;
    private final MigrationDriver driver;
    private final Destinations destinations;
    private final ContainerProcesses processes;
    private final CgroupAdopter adopter;
    private final ResumeMarkers resumeMarkers;
    private final Optional<ParkedCheckpoints> parked;
    private final Map<Long, CompletableFuture<MigrationReport>> inFlight = new ConcurrentHashMap<>();
    private final MigrationGate gate;
    // Restores of parked checkpoints run beside the registration that asked for them.
    private final Executor restores;
    private final WholeJobCheck wholeJobs;
    /** Counts each move refused because the job cannot move whole (the metric). */
    private final Consumer<WholeJobCheck.Kind> refusedUnmovable;
    /** The coordinators' words for the staying parts held here, by migration id (see {@link StayingParts}). */
    private final Map<String, CompletableFuture<Boolean>> partDecisions = new ConcurrentHashMap<>();
    /** Jobs whose part was restored in place here: the old run's end (its epilog) is not the job's. */
    private final Set<Long> oldRunEndsExpected = ConcurrentHashMap.newKeySet();
    /** Restored containers already taken into a step's cgroups (the first task of the requeued job here does it). */
    private final Set<Long> adoptedInits = ConcurrentHashMap.newKeySet();

    /**
     * @param gate refuses migrations and parking while this node cannot checkpoint (CRIU unusable)
     * @param restores runs the restores of parked checkpoints; the agent's lifecycle owns it and shuts it down
     */
    public MigrationService(String nodeName, JobRegistry registry, ContainerLocator locator, ApptainerInstances apptainer,
                            SlurmClient slurm, int peerPort, MigrationDriver driver, Destinations destinations,
                            ContainerProcesses processes, CgroupAdopter adopter, ResumeMarkers resumeMarkers,
                            Optional<ParkedCheckpoints> parked, MigrationGate gate, Executor restores, WholeJobCheck wholeJobs,
                            Consumer<WholeJobCheck.Kind> refusedUnmovable) {
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.locator = Objects.requireNonNull(locator, "locator");
        this.apptainer = Objects.requireNonNull(apptainer, "apptainer");
        this.slurm = Objects.requireNonNull(slurm, "slurm");
        this.peerPort = peerPort;
        this.driver = Objects.requireNonNull(driver, "driver");
        this.destinations = Objects.requireNonNull(destinations, "destinations");
        this.processes = Objects.requireNonNull(processes, "processes");
        this.adopter = Objects.requireNonNull(adopter, "adopter");
        this.resumeMarkers = Objects.requireNonNull(resumeMarkers, "resumeMarkers");
        this.parked = Objects.requireNonNull(parked, "parked");
        this.gate = Objects.requireNonNull(gate, "gate");
        this.restores = Objects.requireNonNull(restores, "restores");
        this.wholeJobs = Objects.requireNonNull(wholeJobs, "wholeJobs");
        this.refusedUnmovable = Objects.requireNonNull(refusedUnmovable, "refusedUnmovable");
    }

    /** Whether jobs can be parked here: a shared directory is configured. */
    public boolean canPark() {
        return parked.isPresent();
    }

    /**
     * Parks the job: checkpoints it to the shared directory and requeues it, so that it resumes
     * from the checkpoint wherever Slurm starts it next. For when no node can take it now.
     */
    public MigrationReport park(long jobId) throws MigrationException {
        gate.requireOpenToSend(jobId);
        if (!canPark()) {
            throw new MigrationException(MigrationException.Reason.NOT_CONFIGURED,
                    "parking job " + jobId + " needs a shared-directory in the agent's config");
        }
        JobRecord job = registry.job(jobId).orElseThrow(() ->
                new MigrationException(MigrationException.Reason.UNKNOWN_JOB, "job " + jobId + " is not registered on " + nodeName));
        return alone(jobId, () -> {
            SlurmJob slurmJob = requireRequeueable(jobId);
            if (slurmJob.nodeCount() > 1) {
                refusedUnmovable.accept(WholeJobCheck.Kind.SEVERAL_NODES);
                throw new MigrationException(MigrationException.Reason.UNMOVABLE, "job " + jobId + " runs on " + slurmJob.nodeCount()
                        + " nodes (" + slurmJob.nodeList() + "): it is not parked, since one consistent checkpoint of every node's"
                        + " part is not built; it stays where it is");
            }
            try {
                ContainerManifest container = container(job);
                requireWhole(job, slurmJob, container);
                requireRestorableFrom(TransferMode.SHARED_FS, container, jobId);
                MigrationReport report;
                try (WholeJobCheck.TaskStartHold noTaskStarts = wholeJobs.holdTaskStarts(jobId, job.uid())) {
                    report = driver.move(Destinations.newMigrationId(jobId, "park-"), jobId, container,
                            destinations.parked(jobId, job.uid(), job.gid(), container),
                            () -> requireStillWhole(jobId, slurmJob, container));
                }
                if (report.outcome().jobLeft()) {
                    registry.migratedAway(jobId);
                }
                return report;
            } catch (IOException e) {
                throw new MigrationException(MigrationException.Reason.INTERNAL, "job " + jobId + ": " + e.getMessage());
            }
        });
    }

    /**
     * A step of a registered job starts here. A requeued job's batch step whose checkpoint is
     * parked gets it restored: a "restoring" resume marker is written before the registration is
     * answered, so lifeboat-run, which runs after it, waits for the restore instead of starting the
     * workload again; the restore itself runs beside it. A failed restore keeps the checkpoint,
     * removes the marker (lifeboat-run then gives up) and requeues the job away from this node.
     */
    public void stepStarted(JobRecord job, String step) {
        // Not gated on restartCount: slurmstepd reports 0 to SPANK for a requeued batch step (22.05).
        if (parked.isEmpty() || !step.equals("batch")) {
            return;
        }
        Optional<ParkedCheckpoints.ParkedJob> checkpoint;
        try {
            checkpoint = parked.get().find(job.job());
            if (checkpoint.isEmpty()) {
                return;
            }
            if (checkpoint.get().uid() != job.uid()) {
                LOG.severe("job " + job.job() + ": its parked checkpoint belongs to uid " + checkpoint.get().uid() + ", not "
                        + job.uid() + ": not restored");
                return;
            }
            resumeMarkers.writeRestoring(job.job(), job.uid());
        } catch (IOException e) {
            LOG.severe("job " + job.job() + ": cannot prepare the restore of its parked checkpoint: " + e.getMessage());
            return;
        }
        LOG.info("job " + job.job() + " was parked on " + checkpoint.get().from() + ": restoring its checkpoint here");
        restores.execute(() -> restoreParked(checkpoint.get()));
    }

    private void restoreParked(ParkedCheckpoints.ParkedJob parkedJob) {
        long jobId = parkedJob.job();
        long started = System.nanoTime();
        long pid;
        try {
            pid = parked.get().restore(parkedJob);
            registry.restoredHere(jobId, parkedJob.uid(), parkedJob.gid(),
                    parkedJob.container().withInit(pid, resumeMarkers.startTime(pid)));
            resumeMarkers.write(jobId, parkedJob.uid(), pid);
        } catch (Exception e) {
            LOG.severe("job " + jobId + ": the restore of its parked checkpoint failed here (" + e.getMessage()
                    + "); the checkpoint is kept and the job requeued for another node");
            try {
                resumeMarkers.remove(jobId);
                slurm.requeue(jobId);
                slurm.awaitState(jobId, "PENDING", Duration.ofSeconds(60));
                slurm.releaseToAnyNodeBut(jobId, nodeName);
            } catch (Exception requeueFailure) {
                LOG.severe("job " + jobId + ": cannot requeue it after the failed restore: " + requeueFailure.getMessage());
            }
            return;
        }
        // The batch step's task may have registered while the restore ran: the container joins its cgroups now.
        registry.job(jobId).ifPresent(job -> {
            StepRecord batch = job.steps().get("batch");
            if (batch != null && !batch.taskPids().isEmpty()) {
                taskStarted(job, "batch", batch.taskPids().values().iterator().next());
            }
        });
        try {
            processes.resume(pid);
            parked.get().discard(jobId);
        } catch (Exception e) {
            LOG.severe("job " + jobId + ": restored from its parked checkpoint as pid " + pid + ", but: " + e.getMessage());
            return;
        }
        LOG.info("job " + jobId + " runs here again from the checkpoint parked on " + parkedJob.from() + " (pid " + pid + ", restore "
                + (System.nanoTime() - started) / 1_000_000 + " ms)");
    }

    /**
     * Migrates the job's container to the target node, or to the node Slurm chooses when
     * {@code targetNode} is null, and reports how it went (moved or rolled back). A request for a
     * job already on the move joins that migration and gets its report.
     */
    public MigrationReport migrate(long jobId, String targetNode, TransferMode mode) throws MigrationException {
        gate.requireOpenToSend(jobId);
        gate.requireMode(mode, "job " + jobId);
        JobRecord job = registry.job(jobId).orElseThrow(() ->
                new MigrationException(MigrationException.Reason.UNKNOWN_JOB, "job " + jobId + " is not registered on " + nodeName));
        return alone(jobId, () -> start(job, targetNode, mode));
    }

    /** What moves a job; a MigrationException says why it could not. */
    @FunctionalInterface
    private interface Move {
        MigrationReport run() throws MigrationException;
    }

    /** Runs the move unless the job is on the move already: then the request joins that one and gets its report. */
    private MigrationReport alone(long jobId, Move move) throws MigrationException {
        CompletableFuture<MigrationReport> mine = new CompletableFuture<>();
        CompletableFuture<MigrationReport> running = inFlight.putIfAbsent(jobId, mine);
        if (running != null) {
            LOG.info("job " + jobId + " is already on the move: this request joins that move");
            return await(running);
        }
        try {
            MigrationReport report = move.run();
            mine.complete(report);
            return report;
        } catch (MigrationException | RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            inFlight.remove(jobId, mine);
        }
    }

    /** The jobs registered here, for an evacuation. */
    public List<Long> registeredJobs() {
        return registry.jobs().stream().map(JobRecord::job).toList();
    }

    /** Memory the job's container holds now, for planning an evacuation; 0 when it has none to be found. */
    public long memoryBytes(long jobId) {
        Optional<JobRecord> job = registry.job(jobId);
        if (job.isEmpty()) {
            return 0;
        }
        try {
            return processes.residentBytes(container(job.get()).initPid());
        } catch (MigrationException | IOException e) {
            return 0;
        }
    }

    /**
     * A task of a job started here. When the job's container was restored here, this is Slurm
     * starting the requeued job: its batch step takes the container into its cgroups.
     */
    public void taskStarted(JobRecord job, String step, long taskPid) {
        if (job.container() == null || !processes.isAlive(job.container().initPid())) {
            return;
        }
        long init = job.container().initPid();
        try {
            // Only a copy restored here, once: its resume marker names it. On a node that is not the job's batch
            // host (a job on several nodes) the requeued job's first task here is an srun step's.
            if (!resumeMarkers.names(job.job(), init) || !adoptedInits.add(init)) {
                return;
            }
            List<Long> members = processes.members(init);
            int cgroups = adopter.adopt(members, taskPid, job.job());
            LOG.info("job " + job.job() + ": restored container (" + members.size() + " processes) joined " + cgroups
                    + " cgroups of its requeued step " + step);
        } catch (IOException e) {
            adoptedInits.remove(init);
            LOG.warning("job " + job.job() + ": cannot move the restored container into the step's cgroups: " + e.getMessage());
        }
    }

    /**
     * Whether a job's end reported here is only its old run's: Slurm ends that run on every node of a job
     * on several nodes when one part moves, while the part restored in place here lives on.
     */
    public boolean livesOnAfterItsEnd(long jobId) {
        boolean livesOn = oldRunEndsExpected.remove(jobId);
        if (livesOn) {
            LOG.info("job " + jobId + ": the end of its run before the move; its part restored here lives on");
        }
        return livesOn;
    }

    /** The job ended on this node: its resume marker, if any, goes with it. */
    public void jobEnded(long jobId) {
        try {
            resumeMarkers.remove(jobId);
        } catch (IOException e) {
            LOG.warning("job " + jobId + ": cannot remove its resume marker: " + e.getMessage());
        }
    }

    private MigrationReport start(JobRecord job, String targetNode, TransferMode mode) throws MigrationException {
        long jobId = job.job();
        SlurmJob slurmJob = requireRequeueable(jobId);
        if (slurmJob.nodeCount() > 1) {
            return startAcrossNodes(job, slurmJob, targetNode, mode);
        }
        String target = targetNode == null ? chooseTarget(slurmJob, Set.of(nodeName)) : targetNode;
        if (target.equals(nodeName)) {
            throw new MigrationException(MigrationException.Reason.MALFORMED, "job " + jobId + " already runs on " + nodeName);
        }
        try {
            ContainerManifest container = container(job);
            requireWhole(job, slurmJob, container);
            requireRestorableFrom(mode, container, jobId);
            InetSocketAddress targetPeer = peerAddress(target);
            String migrationId = Destinations.newMigrationId(jobId, "");
            MigrationReport report;
            try (WholeJobCheck.TaskStartHold noTaskStarts = wholeJobs.holdTaskStarts(jobId, job.uid())) {
                report = driver.move(migrationId, jobId, container, destinations.live(migrationId, jobId, container, target,
                        targetPeer, mode), () -> requireStillWhole(jobId, slurmJob, container));
            }
            if (report.outcome().jobLeft()) {
                registry.migratedAway(jobId);
            }
            return report;
        } catch (IOException e) {
            throw new MigrationException(MigrationException.Reason.INTERNAL, "job " + jobId + ": " + e.getMessage());
        }
    }

    /**
     * Moves this node's part of a job on several nodes to a node Slurm chooses (never one of the
     * job's), keeping the job's id. Slurm 22.05 cannot give a running job another node, and its
     * requeue ends every step on every node; so the parts on the job's other nodes ("staying") are
     * each checkpointed and restored in place by their own agents, held frozen, while this part
     * crosses; then the job is requeued once, pinned to the staying nodes and the target, and every
     * part resumes, its connections to the others restored at both ends. Until the requeue any
     * failure gives every part back where it was.
     */
    private MigrationReport startAcrossNodes(JobRecord job, SlurmJob slurmJob, String targetNode, TransferMode requested)
            throws MigrationException {
        long jobId = job.job();
        // Post-copy of one part while the others are held in place around the group's requeue is untested: the part
        // moves diskless, whose failures roll every part back (the report says which mode it took).
        TransferMode mode = requested == TransferMode.POST_COPY ? TransferMode.DISKLESS : requested;
        if (mode != requested) {
            LOG.info("job " + jobId + " runs on several nodes: its part here moves " + mode.wireName() + ", not "
                    + requested.wireName());
        }
        List<String> nodes = hostnames(slurmJob);
        String target = targetNode == null ? chooseTarget(slurmJob.onePart(), Set.copyOf(nodes)) : targetNode;
        if (nodes.contains(target)) {
            throw new MigrationException(MigrationException.Reason.MALFORMED, "job " + jobId + " already runs on " + target
                    + " (" + slurmJob.nodeList() + ")");
        }
        try {
            ContainerManifest container = container(job);
            requireWhole(job, slurmJob, container);
            requireRestorableFrom(mode, container, jobId);
            String migrationId = Destinations.newMigrationId(jobId, "");
            Map<String, PeerClient> agents = new LinkedHashMap<>();
            List<String> newNodes = new ArrayList<>();
            for (String node : nodes) {
                if (!node.equals(nodeName)) {
                    agents.put(node, destinations.agent(node, peerAddress(node)));
                    newNodes.add(node);
                }
            }
            newNodes.add(target);
            StayingParts staying = new StayingParts(migrationId, jobId, agents);
            LOG.info("migration " + migrationId + ": job " + jobId + "'s part on " + nodeName + " moves to " + target + "; its parts on "
                    + staying.nodes() + " are held in place; afterwards it runs on " + newNodes);
            staying.start(nodeName);
            MigrationReport report;
            try (WholeJobCheck.TaskStartHold noTaskStarts = wholeJobs.holdTaskStarts(jobId, job.uid())) {
                report = driver.move(migrationId, jobId, container, destinations.live(migrationId, jobId, container, target,
                        peerAddress(target), mode, new GroupHandover(destinations.handover(), staying, newNodes)),
                        () -> requireStillWhole(jobId, slurmJob, container));
            } finally {
                // Only parts not yet told: a requeued job's were told to resume already.
                staying.decide(false);
            }
            if (report.outcome().jobLeft()) {
                registry.migratedAway(jobId);
            }
            return report;
        } catch (IOException e) {
            throw new MigrationException(MigrationException.Reason.INTERNAL, "job " + jobId + ": " + e.getMessage());
        }
    }

    /**
     * A staying part of a job on several nodes ({@link StayingParts}), asked by the coordinator on
     * the job's moving node: this node's part is checkpointed and restored here, and held. Returns
     * once it is held ready; the move itself goes on beside, waiting for {@link #decidePart}.
     */
    public void holdPartInPlace(String migrationId, long jobId, String coordinator) throws MigrationException {
        gate.requireOpenToSend(jobId);
        JobRecord job = registry.job(jobId).orElseThrow(() ->
                new MigrationException(MigrationException.Reason.UNKNOWN_JOB, "job " + jobId + " is not registered on " + nodeName));
        CompletableFuture<Void> ready = new CompletableFuture<>();
        CompletableFuture<Boolean> decision = partDecisions.computeIfAbsent(migrationId, id -> new CompletableFuture<>());
        Thread mover = new Thread(() -> {
            try {
                MigrationReport report = alone(jobId, () -> movePartInPlace(job, migrationId, coordinator, ready, decision));
                if (!report.outcome().jobLeft()) {
                    ready.completeExceptionally(new MigrationException(MigrationException.Reason.INTERNAL, String.valueOf(report.cause())));
                }
            } catch (MigrationException | RuntimeException e) {
                ready.completeExceptionally(e);
            } finally {
                partDecisions.remove(migrationId);
            }
        }, "part-in-place-" + jobId);
        mover.setDaemon(true);
        mover.start();
        try {
            ready.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MigrationException(MigrationException.Reason.INTERNAL, "interrupted while holding job " + jobId + "'s part");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof MigrationException cause) {
                throw cause;
            }
            throw new MigrationException(MigrationException.Reason.INTERNAL, String.valueOf(e.getCause().getMessage()));
        }
    }

    /** The coordinator's word for a staying part held here: resume the restored copy (commit) or go on as before. */
    public void decidePart(String migrationId, boolean commit) {
        partDecisions.computeIfAbsent(migrationId, id -> new CompletableFuture<>()).complete(commit);
    }

    private MigrationReport movePartInPlace(JobRecord job, String migrationId, String coordinator, CompletableFuture<Void> ready,
                                            CompletableFuture<Boolean> decision) throws MigrationException {
        long jobId = job.job();
        SlurmJob slurmJob = requireRequeueable(jobId);
        if (slurmJob.nodeCount() < 2) {
            throw new MigrationException(MigrationException.Reason.MALFORMED, "job " + jobId + " runs on one node: it has no part to hold");
        }
        try {
            ContainerManifest container = container(job);
            requireWhole(job, slurmJob, container);
            // Each staying node's own: where nodes share /run/netns, its restoring network is named after it.
            String node = nodeName.replaceAll("[^A-Za-z0-9-]", "-");
            String partId = migrationId + "-held-" + node.substring(0, Math.min(node.length(), 64 - migrationId.length() - 6));
            JobHandover handover = new InPlaceHandover(coordinator, ready, decision, PART_DECISION_TIMEOUT, slurmJob.restarts(),
                    restarts -> slurm.job(jobId).restarts() > restarts);
            oldRunEndsExpected.add(jobId);
            MigrationReport report;
            try (WholeJobCheck.TaskStartHold noTaskStarts = wholeJobs.holdTaskStarts(jobId, job.uid())) {
                report = driver.move(partId, jobId, container, destinations.live(partId, jobId, container, nodeName,
                        peerAddress(nodeName), TransferMode.DISKLESS, handover), () -> requireStillWhole(jobId, slurmJob, container));
            }
            if (!report.outcome().jobLeft()) {
                oldRunEndsExpected.remove(jobId);
            }
            // No migratedAway: the copy restored here is the job's registered container now.
            return report;
        } catch (IOException e) {
            oldRunEndsExpected.remove(jobId);
            throw new MigrationException(MigrationException.Reason.INTERNAL, "job " + jobId + ": " + e.getMessage());
        }
    }

    private InetSocketAddress peerAddress(String node) throws MigrationException {
        try {
            return new InetSocketAddress(slurm.nodeAddress(node), peerPort);
        } catch (CommandException e) {
            throw new MigrationException(MigrationException.Reason.UNKNOWN_NODE, "cannot find node " + node + " in Slurm: " + e.getMessage());
        }
    }

    private List<String> hostnames(SlurmJob slurmJob) throws MigrationException {
        try {
            List<String> nodes = slurm.hostnames(slurmJob.nodeList());
            if (!nodes.contains(nodeName)) {
                throw new MigrationException(MigrationException.Reason.MALFORMED, "job " + slurmJob.id() + " does not run on " + nodeName
                        + " (" + slurmJob.nodeList() + ")");
            }
            return nodes;
        } catch (CommandException e) {
            throw new MigrationException(MigrationException.Reason.INTERNAL, "cannot read job " + slurmJob.id() + "'s nodes: " + e.getMessage());
        }
    }

    /**
     * A job that cannot move whole is never moved: a move requeues the job, which would end what
     * the move leaves behind (see {@link WholeJobCheck}). It keeps running here, as Slurm would
     * let it; a drain's evacuation tries it again later, since its shape may change.
     */
    private void requireWhole(JobRecord job, SlurmJob slurmJob, ContainerManifest container)
            throws MigrationException, IOException {
        Optional<WholeJobCheck.Refusal> refusal = wholeJobs.whyNotWhole(job, slurmJob.nodeCount(), slurmJob.nodeList(), container);
        if (refusal.isPresent()) {
            refusedUnmovable.accept(refusal.get().kind());
            throw new MigrationException(MigrationException.Reason.UNMOVABLE, refusal.get().reason());
        }
    }

    /** The same check at the point of no return, on the registry as it is then (steps may have started). */
    private void requireStillWhole(long jobId, SlurmJob slurmJob, ContainerManifest container) throws MigrationException, IOException {
        Optional<JobRecord> now = registry.job(jobId);
        if (now.isPresent()) {
            requireWhole(now.get(), slurmJob, container);
        }
    }

    /**
     * Whether the job can move whole from here, and why not, for {@code lifeboat status --job}:
     * empty when it can. It changes nothing: a container not yet known is looked for among the
     * tasks only (an Apptainer instance is described, and made dumpable, by a move alone).
     */
    public Optional<String> whyNotMovable(long jobId) {
        Optional<JobRecord> job = registry.job(jobId);
        if (job.isEmpty()) {
            return Optional.of("job " + jobId + " is not registered on " + nodeName);
        }
        try {
            ContainerManifest container = job.get().container();
            if (container == null) {
                Optional<ContainerLocator.LocatedContainer> found = locator.find(taskPids(job.get()), jobId, job.get().uid());
                if (found.isEmpty()) {
                    return Optional.of("no container of job " + jobId + " found among its tasks yet (an Apptainer"
                            + " instance is looked for when a move begins)");
                }
                container = found.get().manifest();
            }
            SlurmJob slurmJob = slurm.job(jobId);
            return wholeJobs.whyNotWhole(job.get(), slurmJob.nodeCount(), slurmJob.nodeList(), container)
                    .map(WholeJobCheck.Refusal::reason);
        } catch (IOException | CommandException e) {
            return Optional.of("cannot tell: " + e.getMessage());
        }
    }

    /**
     * An ordinary user's Apptainer instance is restored by root's CRIU (see {@link Criu#restore}:
     * its IPC namespace), so only from images no user can reach: received by this agent's peer
     * (diskless), never from a shared directory, where the owner could rewrite them first.
     */
    private static void requireRestorableFrom(TransferMode mode, ContainerManifest container, long jobId)
            throws MigrationException {
        if (container.apptainer() != null && container.uid() != 0 && !mode.copiesImages()) {
            throw new MigrationException(MigrationException.Reason.UNMOVABLE, "job " + jobId + " runs an ordinary user's"
                    + " Apptainer instance, which moves diskless or post-copy only: its restore runs CRIU as root, which must never"
                    + " read images its owner could have written (" + mode.wireName() + ")");
        }
    }

    private SlurmJob requireRequeueable(long jobId) throws MigrationException {
        SlurmJob slurmJob;
        try {
            slurmJob = slurm.job(jobId);
        } catch (CommandException e) {
            throw new MigrationException(MigrationException.Reason.UNKNOWN_JOB, "Slurm cannot show job " + jobId + ": " + e.getMessage());
        }
        requireRequeueable(slurmJob);
        return slurmJob;
    }

    private static void requireRequeueable(SlurmJob slurmJob) throws MigrationException {
        if (!slurmJob.batch() || !slurmJob.requeueable()) {
            throw new MigrationException(MigrationException.Reason.NOT_REQUEUEABLE, "job " + slurmJob.id() + " cannot move: Slurm can requeue only batch"
                    + " jobs submitted without --no-requeue (batch " + slurmJob.batch() + ", requeue " + slurmJob.requeueable() + ")");
        }
    }

    private String chooseTarget(SlurmJob job, Set<String> excluded) throws MigrationException {
        try {
            Optional<String> target = slurm.chooseTarget(job, excluded);
            if (target.isEmpty()) {
                throw new MigrationException(MigrationException.Reason.NO_TARGET, "Slurm has no node that could take job " + job.id()
                        + " now (partition " + job.partition() + ", " + job.cpus() + " CPUs): it keeps running on " + nodeName);
            }
            LOG.info("Slurm chose " + target.get() + " for job " + job.id());
            return target.get();
        } catch (CommandException e) {
            throw new MigrationException(MigrationException.Reason.NO_TARGET, "cannot ask Slurm for a target for job " + job.id() + ": " + e.getMessage());
        }
    }

    private static MigrationReport await(CompletableFuture<MigrationReport> running) throws MigrationException {
        try {
            return running.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MigrationException(MigrationException.Reason.INTERNAL, "interrupted while waiting for the migration in progress");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof MigrationException cause) {
                throw new MigrationException(cause.reason(), cause.getMessage());
            }
            throw new MigrationException(MigrationException.Reason.INTERNAL, String.valueOf(e.getCause().getMessage()));
        }
    }

    /** Every task of every registered step of the job on this node. */
    private static List<Long> taskPids(JobRecord job) {
        List<Long> taskPids = new ArrayList<>();
        job.steps().values().forEach(step -> taskPids.addAll(step.taskPids().values()));
        return taskPids;
    }

    /**
     * The job's container: the registry's copy, or found now: a lifeboat-run container below its
     * task processes, else an Apptainer instance in its cgroup. An instance is described afresh
     * every time (its outside files are named after this node's mounts).
     */
    private ContainerManifest container(JobRecord job) throws MigrationException, IOException {
        if (job.container() != null && job.container().apptainer() == null) {
            return job.container();
        }
        Optional<ContainerManifest> found;
        if (job.container() != null) {
            found = Optional.of(apptainer.refresh(job.container()));
        } else {
            found = locator.find(taskPids(job), job.job(), job.uid()).map(ContainerLocator.LocatedContainer::manifest);
            if (found.isEmpty()) {
                found = apptainer.find(job.job(), job.uid());
            }
        }
        if (found.isEmpty()) {
            throw new MigrationException(MigrationException.Reason.NO_CONTAINER, "job " + job.job() + " runs no container started by lifeboat-run"
                    + " and no Apptainer instance on " + nodeName + ": only those can be migrated");
        }
        try {
            return registry.containerFound(job.job(), found.get()).container();
        } catch (RegistryException e) {
            throw new MigrationException(MigrationException.Reason.UNKNOWN_JOB, e.getMessage());
        }
    }
}
