package org.lifeboat.agent.migration;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.lifeboat.agent.container.ContainerLocator;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.registry.JobRecord;
import org.lifeboat.agent.registry.JobRegistry;
import org.lifeboat.agent.registry.RegistryException;
import org.lifeboat.agent.slurm.SlurmClient;

/**
 * Starts migrations of this node's registered jobs: finds the job's container, asks Slurm where
 * the target node is, and makes sure a job is never migrated twice at once.
 */
public final class MigrationService {

    private final String nodeName;
    private final JobRegistry registry;
    private final ContainerLocator locator;
    private final SlurmClient slurm;
    private final int peerPort;
    private final Migrator migrator;
    private final Set<Long> migrating = ConcurrentHashMap.newKeySet();

    public MigrationService(String nodeName, JobRegistry registry, ContainerLocator locator, SlurmClient slurm, int peerPort,
                            Migrator migrator) {
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.locator = Objects.requireNonNull(locator, "locator");
        this.slurm = Objects.requireNonNull(slurm, "slurm");
        this.peerPort = peerPort;
        this.migrator = Objects.requireNonNull(migrator, "migrator");
    }

    /** Migrates the job's container to the target node and reports how it went (moved or rolled back). */
    public MigrationReport migrate(long jobId, String targetNode, TransferMode mode) throws MigrationException {
        if (targetNode.equals(nodeName)) {
            throw new MigrationException("malformed", "job " + jobId + " already runs on " + nodeName);
        }
        JobRecord job = registry.job(jobId).orElseThrow(() ->
                new MigrationException("unknown-job", "job " + jobId + " is not registered on " + nodeName));
        if (!migrating.add(jobId)) {
            throw new MigrationException("conflict", "job " + jobId + " is already being migrated");
        }
        try {
            ContainerManifest container = container(job);
            String address;
            try {
                address = slurm.nodeAddress(targetNode);
            } catch (CommandException e) {
                throw new MigrationException("unknown-node", "cannot find node " + targetNode + " in Slurm: " + e.getMessage());
            }
            MigrationReport report = migrator.migrate(jobId, container, targetNode, new InetSocketAddress(address, peerPort), mode);
            if (!report.outcome().equals(MigrationReport.ROLLED_BACK)) {
                registry.migratedAway(jobId);
            }
            return report;
        } catch (IOException e) {
            throw new MigrationException("internal", "job " + jobId + ": " + e.getMessage());
        } finally {
            migrating.remove(jobId);
        }
    }

    /** The job's container, from the registry's copy or found now below its task processes. */
    private ContainerManifest container(JobRecord job) throws MigrationException, IOException {
        if (job.container() != null) {
            return job.container();
        }
        List<Long> taskPids = new ArrayList<>();
        job.steps().values().forEach(step -> taskPids.addAll(step.taskPids().values()));
        Optional<ContainerLocator.LocatedContainer> located = locator.find(taskPids);
        if (located.isEmpty()) {
            throw new MigrationException("no-container", "job " + job.job() + " runs no container started by lifeboat-run"
                    + " on " + nodeName + ": only such containers can be migrated");
        }
        try {
            return registry.containerFound(job.job(), located.get().manifest()).container();
        } catch (RegistryException e) {
            throw new MigrationException("unknown-job", e.getMessage());
        }
    }
}
