package org.lifeboat.agent.migration;

import java.io.IOException;
import java.util.Objects;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.network.JobNetwork;
import org.lifeboat.agent.network.JobNetworks;
import org.lifeboat.agent.registry.JobRegistry;

/** Hands a stopped copy restored on this node to its job: registered, lifeboat-run told, and let go on. */
public final class RestoredCopies {

    private final JobRegistry registry;
    private final ResumeMarkers resumeMarkers;
    private final ContainerProcesses processes;
    private final JobNetworks networks;

    public RestoredCopies(JobRegistry registry, ResumeMarkers resumeMarkers, ContainerProcesses processes, JobNetworks networks) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.resumeMarkers = Objects.requireNonNull(resumeMarkers, "resumeMarkers");
        this.processes = Objects.requireNonNull(processes, "processes");
        this.networks = Objects.requireNonNull(networks, "networks");
    }

    /**
     * Registers the copy as the job's container: when its batch step starts here, the step takes
     * the copy into its cgroups.
     */
    void register(long jobId, int uid, int gid, ContainerManifest manifest, long pid) throws IOException {
        registry.restoredHere(jobId, uid, gid, manifest.withInit(pid, resumeMarkers.startTime(pid)));
    }

    /** The copy registered here went, and its job with it. */
    void unregister(long jobId) throws IOException {
        registry.jobEnded(jobId);
    }

    /**
     * The job runs here from now on: its network under its own name and heard (see
     * {@link JobNetworks#createDeaf}: not before, since a copy that is still discarded must not have
     * taken in, and acknowledged, what the peers sent the source's copy), registered, its resume
     * marker naming the copy's init (for when Slurm starts the requeued job here), and the copy
     * resumed.
     *
     * @param network the job's own network, or null
     */
    void resume(String migrationId, long jobId, int uid, int gid, ContainerManifest manifest, JobNetwork network, long pid)
            throws IOException, CommandException {
        if (network != null) {
            networks.nameRestored(network, migrationId);
            networks.reveal(network);
            networks.announce(network, pid);
        }
        register(jobId, uid, gid, manifest, pid);
        resumeMarkers.write(jobId, uid, pid);
        processes.resume(pid);
    }
}
