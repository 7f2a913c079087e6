package org.lifeboat.agent.migration;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.logging.Logger;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.container.RestoreRoot;
import org.lifeboat.agent.criu.Criu;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.slurm.SlurmClient;
import org.lifeboat.agent.storage.AtomicFiles;

/**
 * Parks a job: checkpoints its container to the shared directory and requeues it, for when no
 * node can take it now (a predicted failure with every other node busy, or a job too big to move
 * live before the deadline). Slurm starts it again wherever a node frees up; that node's agent
 * then restores the checkpoint instead of letting the batch script start the workload from zero
 * ({@link #restore}). The phases are those of a migration without a target: DUMP, then REQUEUE,
 * the point of no return (from there the checkpoint is the job's only copy and is never deleted
 * before a restore of it has run), then CLEANUP; any failure before the requeue is a ROLLBACK that
 * resumes the frozen job where it was.
 */
public final class Parker {

    static final String PARKED = "parked";
    static final String RECORD = "parked.json";
    private static final Duration CRIU_TIMEOUT = Duration.ofMinutes(30).plus(PostDumpHook.DECISION_LIMIT);
    private static final Duration PENDING_TIMEOUT = Duration.ofSeconds(60);
    // The checkpoint holds about the container's resident memory; the rest of the images is small, not zero.
    private static final long IMAGE_OVERHEAD_BYTES = 64L << 20;
    private static final Logger LOG = Logger.getLogger(Parker.class.getName());

    private final String nodeName;
    private final Path parkedDirectory;
    private final Path rootsDirectory;
    private final Path controlRoot;
    private final Criu criu;
    private final ContainerProcesses processes;
    private final RestoreRoot restoreRoots;
    private final SlurmClient slurm;
    private final Path postDumpScript;
    private final Clock clock;
    private final MigrationObserver observer;
    private final ObjectMapper json = AgentJson.mapper();
    private final ExecutorService criuRuns;

    /**
     * @param sharedDirectory the shared-directory every node sees: checkpoints go to its {@value #PARKED} directory
     * @param checkpointDirectory this node's checkpoint directory, where restore roots are built
     * @param criuRuns runs CRIU's dumps; the agent's lifecycle owns it and shuts it down
     */
    public Parker(String nodeName, Path sharedDirectory, Path checkpointDirectory, Criu criu, ContainerProcesses processes,
                  RestoreRoot restoreRoots, SlurmClient slurm, Path postDumpScript, Clock clock, MigrationObserver observer,
                  ExecutorService criuRuns) {
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
        this.parkedDirectory = sharedDirectory.resolve(PARKED);
        this.rootsDirectory = checkpointDirectory.resolve(IncomingMigrations.ROOTS);
        this.controlRoot = Migrator.outgoingDirectory(checkpointDirectory);
        this.criu = Objects.requireNonNull(criu, "criu");
        this.processes = Objects.requireNonNull(processes, "processes");
        this.restoreRoots = Objects.requireNonNull(restoreRoots, "restoreRoots");
        this.slurm = Objects.requireNonNull(slurm, "slurm");
        this.postDumpScript = Objects.requireNonNull(postDumpScript, "postDumpScript");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.observer = Objects.requireNonNull(observer, "observer");
        this.criuRuns = Objects.requireNonNull(criuRuns, "criuRuns");
    }

    /** Checkpoints and requeues the job; the report says whether it was parked or rolled back, and why. */
    public MigrationReport park(long jobId, int uid, int gid, ContainerManifest container) {
        String id = "job" + jobId + "-park-" + UUID.randomUUID().toString().substring(0, 8);
        Instant started = clock.instant();
        long startedNanos = System.nanoTime();
        PhaseTimer phases = new PhaseTimer(id);
        Path images = directory(jobId);
        // CRIU's post-dump decisions, on this node's disk (see PostDumpHook).
        Path control = PostDumpHook.controlDirectory(controlRoot, images);
        long frozenAt = 0;
        Future<?> dump = null;
        LOG.info("migration " + id + ": parking job " + jobId + " from " + nodeName + " in " + images);
        try {
            if (container.networkNamespace() != null) {
                throw new IOException("job " + jobId + " has its own network: its connections would not survive a park");
            }
            if (Files.exists(images)) {
                throw new IOException("job " + jobId + " already has a parked checkpoint in " + images);
            }
            Files.createDirectories(images);
            Files.createDirectories(control);
            long needed = processes.residentBytes(container.initPid()) + IMAGE_OVERHEAD_BYTES;
            long free = Files.getFileStore(images).getUsableSpace();
            if (free < needed) {
                throw new IOException("not enough space in " + parkedDirectory + ": " + free + " bytes free, " + needed + " needed");
            }
            frozenAt = System.nanoTime();
            Future<?>[] running = new Future<?>[1];
            phases.run(MigrationPhase.DUMP, () -> running[0] = dump(container, images, control));
            dump = running[0];
            phases.run(MigrationPhase.REQUEUE, () -> {
                AtomicFiles.write(images.resolve(RECORD), json.writeValueAsBytes(
                        new ParkedJob(jobId, uid, gid, nodeName, clock.instant(), container)));
                PostDumpHook.requeuing(control);
                slurm.requeue(jobId);
            });
        } catch (Exception failure) {
            String cause = failure.getMessage();
            Future<?> criuRun = dump;
            try {
                phases.run(MigrationPhase.ROLLBACK, () -> rollBack(container, images, control, criuRun));
            } catch (Exception rollbackFailure) {
                cause += "; rollback incomplete: " + rollbackFailure.getMessage();
            }
            return report(id, jobId, container, started, startedNanos, phases, MigrationReport.ROLLED_BACK, cause, 0);
        }
        // The point of no return: Slurm has the job again, and the checkpoint is its only copy.
        long downtime = (System.nanoTime() - frozenAt) / 1_000_000;
        String failure = null;
        Future<?> criuRun = dump;
        try {
            phases.run(MigrationPhase.CLEANUP, () -> {
                processes.kill(container.initPid());
                PostDumpHook.commit(control);
                PostDumpHook.awaitExit(id, criuRun);
                Migrator.deleteTree(control);
                release(jobId);
            });
        } catch (Exception e) {
            failure = "after the requeue: " + e.getMessage();
        }
        return report(id, jobId, container, started, startedNanos, phases,
                failure == null ? MigrationReport.PARKED : MigrationReport.CLEANUP_FAILED, failure, downtime);
    }

    /** The job's parked checkpoint, if it has one. */
    public Optional<ParkedJob> find(long jobId) throws IOException {
        Path record = directory(jobId).resolve(RECORD);
        if (!Files.isRegularFile(record)) {
            return Optional.empty();
        }
        return Optional.of(json.readValue(record.toFile(), ParkedJob.class));
    }

    /**
     * Restores the parked checkpoint here, stopped, and returns the restored init's pid. The
     * checkpoint stays until {@link #discard}: a restore that fails leaves it for the next node.
     */
    public long restore(ParkedJob parked) throws Exception {
        Path images = directory(parked.job());
        ContainerManifest container = parked.container();
        Path root = rootsDirectory.resolve("parked-job" + parked.job());
        restoreRoots.build(root, container);
        try {
            // The parked images are the job's only checkpoint until it runs again: CRIU leaves them whole.
            return criu.restore(CriuSpecs.restore(container, images, root, Optional.empty(), CRIU_TIMEOUT, false));
        } finally {
            // The restored container holds its own copy of the root mount.
            restoreRoots.unmount(root);
            Migrator.deleteTree(root);
        }
    }

    /** The job runs again from its checkpoint: the images are no longer needed. */
    public void discard(long jobId) throws IOException {
        Migrator.deleteTree(directory(jobId));
    }

    private Path directory(long jobId) {
        return parkedDirectory.resolve("job" + jobId);
    }

    private Future<?> dump(ContainerManifest container, Path images, Path control) throws Exception {
        Criu.DumpSpec spec = CriuSpecs.dump(container, images, Optional.empty(), postDumpScript, Optional.empty(), CRIU_TIMEOUT);
        Future<?> run = criuRuns.submit(() -> {
            criu.dump(spec);
            return null;
        });
        PostDumpHook.awaitDumped(control, run);
        if (!processes.allStopped(container.initPid())) {
            throw new IOException("after the dump, the container (init pid " + container.initPid() + ") is not frozen");
        }
        return run;
    }

    private void rollBack(ContainerManifest container, Path images, Path control, Future<?> dump) throws Exception {
        if (PostDumpHook.dumped(control)) {
            // CRIU resumes the tree exactly where it was.
            PostDumpHook.rollBack(control);
        }
        if (dump != null) {
            PostDumpHook.awaitExit("rollback", dump);
        }
        if (processes.isAlive(container.initPid()) && processes.allStopped(container.initPid())) {
            processes.resume(container.initPid());
        }
        Migrator.deleteTree(images);
        Migrator.deleteTree(control);
    }

    /**
     * The requeued job may start on any node but this one (pinned here by its first placement, it
     * would wait for the failing node), at once rather than after Slurm's requeue delay.
     */
    private void release(long jobId) throws Exception {
        slurm.awaitState(jobId, "PENDING", PENDING_TIMEOUT);
        slurm.releaseToAnyNodeBut(jobId, nodeName);
        slurm.setAdminComment(jobId, "lifeboat-parked:" + nodeName + "@" + clock.instant().truncatedTo(ChronoUnit.SECONDS));
    }

    private MigrationReport report(String id, long jobId, ContainerManifest container, Instant started, long startedNanos,
                                   PhaseTimer phases, String outcome, String cause, long downtimeMillis) {
        String reason = outcome.equals(MigrationReport.PARKED) ? null
                : phases.firstFailure().orElse(FailureReason.OTHER).wireName();
        MigrationReport report = new MigrationReport(id, jobId, nodeName, parkedDirectory.toString(), TransferMode.SHARED_FS.wireName(), outcome, cause,
                started, phases.millis(), (System.nanoTime() - startedNanos) / 1_000_000, downtimeMillis, 0, 0, 0, 0, 0,
                container.uid(), reason, null, null);
        LOG.info("migration " + id + ": " + outcome + (cause == null ? "" : " (" + cause + ")") + ", phases " + phases.millis());
        try {
            observer.migrationEnded(report);
        } catch (RuntimeException e) {
            // Metrics and history must never turn the outcome into an error.
            LOG.warning("migration " + id + ": recording its report failed: " + e);
        }
        return report;
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
