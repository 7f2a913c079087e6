package org.lifeboat.agent.migration;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.logging.Logger;
import org.lifeboat.agent.container.CgroupAdopter;
import org.lifeboat.agent.container.ApptainerInstances;
import org.lifeboat.agent.container.ContainerLocator;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.registry.JobRecord;
import org.lifeboat.agent.registry.JobRegistry;
import org.lifeboat.agent.registry.RegistryException;
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

    private final String nodeName;
    private final JobRegistry registry;
    private final ContainerLocator locator;
    private final ApptainerInstances apptainer;
    private final SlurmClient slurm;
    private final int peerPort;
    private final Migrator migrator;
    private final ContainerProcesses processes;
    private final CgroupAdopter adopter;
    private final ResumeMarkers resumeMarkers;
    private final Map<Long, CompletableFuture<MigrationReport>> inFlight = new ConcurrentHashMap<>();

    public MigrationService(String nodeName, JobRegistry registry, ContainerLocator locator, ApptainerInstances apptainer,
                            SlurmClient slurm, int peerPort, Migrator migrator, ContainerProcesses processes,
                            CgroupAdopter adopter, ResumeMarkers resumeMarkers) {
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.locator = Objects.requireNonNull(locator, "locator");
        this.apptainer = Objects.requireNonNull(apptainer, "apptainer");
        this.slurm = Objects.requireNonNull(slurm, "slurm");
        this.peerPort = peerPort;
        this.migrator = Objects.requireNonNull(migrator, "migrator");
        this.processes = Objects.requireNonNull(processes, "processes");
        this.adopter = Objects.requireNonNull(adopter, "adopter");
        this.resumeMarkers = Objects.requireNonNull(resumeMarkers, "resumeMarkers");
    }

    /**
     * Migrates the job's container to the target node, or to the node Slurm chooses when
     * {@code targetNode} is null, and reports how it went (moved or rolled back). A request for a
     * job already on the move joins that migration and gets its report.
     */
    public MigrationReport migrate(long jobId, String targetNode, TransferMode mode) throws MigrationException {
        JobRecord job = registry.job(jobId).orElseThrow(() ->
                new MigrationException("unknown-job", "job " + jobId + " is not registered on " + nodeName));
        CompletableFuture<MigrationReport> mine = new CompletableFuture<>();
        CompletableFuture<MigrationReport> running = inFlight.putIfAbsent(jobId, mine);
        if (running != null) {
            LOG.info("job " + jobId + " is already on the move: this request joins that migration");
            return await(running);
        }
        try {
            MigrationReport report = start(job, targetNode, mode);
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
        if (job.container() == null || !step.equals("batch") || !processes.isAlive(job.container().initPid())) {
            return;
        }
        try {
            List<Long> members = processes.members(job.container().initPid());
            int cgroups = adopter.adopt(members, taskPid, job.job());
            LOG.info("job " + job.job() + ": restored container (" + members.size() + " processes) joined " + cgroups
                    + " cgroups of its requeued batch step");
        } catch (IOException e) {
            LOG.warning("job " + job.job() + ": cannot move the restored container into the step's cgroups: " + e.getMessage());
        }
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
        SlurmJob slurmJob;
        try {
            slurmJob = slurm.job(jobId);
        } catch (CommandException e) {
            throw new MigrationException("unknown-job", "Slurm cannot show job " + jobId + ": " + e.getMessage());
        }
        if (!slurmJob.batch() || !slurmJob.requeueable()) {
            throw new MigrationException("not-requeueable", "job " + jobId + " cannot move: Slurm can requeue only batch"
                    + " jobs submitted without --no-requeue (batch " + slurmJob.batch() + ", requeue " + slurmJob.requeueable() + ")");
        }
        String target = targetNode == null ? chooseTarget(slurmJob) : targetNode;
        if (target.equals(nodeName)) {
            throw new MigrationException("malformed", "job " + jobId + " already runs on " + nodeName);
        }
        try {
            ContainerManifest container = container(job);
            String address;
            try {
                address = slurm.nodeAddress(target);
            } catch (CommandException e) {
                throw new MigrationException("unknown-node", "cannot find node " + target + " in Slurm: " + e.getMessage());
            }
            MigrationReport report = migrator.migrate(jobId, container, target, new InetSocketAddress(address, peerPort), mode);
            if (!report.outcome().equals(MigrationReport.ROLLED_BACK)) {
                registry.migratedAway(jobId);
            }
            return report;
        } catch (IOException e) {
            throw new MigrationException("internal", "job " + jobId + ": " + e.getMessage());
        }
    }

    private String chooseTarget(SlurmJob job) throws MigrationException {
        try {
            Optional<String> target = slurm.chooseTarget(job, Set.of(nodeName));
            if (target.isEmpty()) {
                throw new MigrationException("no-target", "Slurm has no node that could take job " + job.id()
                        + " now (partition " + job.partition() + ", " + job.cpus() + " CPUs): it keeps running on " + nodeName);
            }
            LOG.info("Slurm chose " + target.get() + " for job " + job.id());
            return target.get();
        } catch (CommandException e) {
            throw new MigrationException("no-target", "cannot ask Slurm for a target for job " + job.id() + ": " + e.getMessage());
        }
    }

    private static MigrationReport await(CompletableFuture<MigrationReport> running) throws MigrationException {
        try {
            return running.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new MigrationException("internal", "interrupted while waiting for the migration in progress");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof MigrationException cause) {
                throw new MigrationException(cause.code(), cause.getMessage());
            }
            throw new MigrationException("internal", String.valueOf(e.getCause().getMessage()));
        }
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
            List<Long> taskPids = new ArrayList<>();
            job.steps().values().forEach(step -> taskPids.addAll(step.taskPids().values()));
            found = locator.find(taskPids).map(ContainerLocator.LocatedContainer::manifest);
            if (found.isEmpty()) {
                found = apptainer.find(job.job(), job.uid());
            }
        }
        if (found.isEmpty()) {
            throw new MigrationException("no-container", "job " + job.job() + " runs no container started by lifeboat-run"
                    + " and no Apptainer instance on " + nodeName + ": only those can be migrated");
        }
        try {
            return registry.containerFound(job.job(), found.get()).container();
        } catch (RegistryException e) {
            throw new MigrationException("unknown-job", e.getMessage());
        }
    }
}
