package org.lifeboat.agent.migration;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.network.JobNetworks;
import org.lifeboat.agent.peer.PeerClient;

/** Makes the destination of each move, with a fresh migration id, from what every move shares. */
public final class Destinations {

    private final String nodeName;
    private final Path checkpointDirectory;
    private final Optional<Path> sharedDirectory;
    private final PeerConnector peers;
    private final ContainerProcesses processes;
    private final JobNetworks networks;
    private final JobHandover handover;
    private final Optional<ParkedCheckpoints> parked;
    private final Clock clock;

    /** Opens an authenticated connection to another node's agent: requests name that node, and are refused elsewhere. */
    @FunctionalInterface
    public interface PeerConnector {
        PeerClient connect(String node, InetSocketAddress peer);
    }

    public Destinations(String nodeName, Path checkpointDirectory, Optional<Path> sharedDirectory, PeerConnector peers,
                        ContainerProcesses processes, JobNetworks networks, JobHandover handover,
                        Optional<ParkedCheckpoints> parked, Clock clock) {
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
        this.checkpointDirectory = Objects.requireNonNull(checkpointDirectory, "checkpointDirectory");
        this.sharedDirectory = Objects.requireNonNull(sharedDirectory, "sharedDirectory");
        this.peers = Objects.requireNonNull(peers, "peers");
        this.processes = Objects.requireNonNull(processes, "processes");
        this.networks = Objects.requireNonNull(networks, "networks");
        this.handover = Objects.requireNonNull(handover, "handover");
        this.parked = Objects.requireNonNull(parked, "parked");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    static String newMigrationId(long jobId, String kind) {
        return "job" + jobId + "-" + kind + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Whether jobs can be parked here: a shared directory is configured. */
    public boolean canPark() {
        return parked.isPresent();
    }

    /** Another node's agent, reached at {@code targetPeer}. */
    public Destination live(String migrationId, long jobId, ContainerManifest container, String targetNode,
                            InetSocketAddress targetPeer, TransferMode mode) {
        return live(migrationId, jobId, container, targetNode, targetPeer, mode, handover);
    }

    /** The same with its own hand-over: one node's part of a job on several nodes (see {@link StayingParts}). */
    Destination live(String migrationId, long jobId, ContainerManifest container, String targetNode, InetSocketAddress targetPeer,
                     TransferMode mode, JobHandover handover) {
        Path images = mode.copiesImages()
                ? CheckpointDirectories.dumps(checkpointDirectory).resolve(migrationId)
                : sharedDirectory.orElseThrow(() -> new IllegalStateException("no shared-directory configured"))
                        .resolve(migrationId);
        TargetAgent target = new PeerTargetAgent(peers.connect(targetNode, targetPeer), new MigrationRequest(migrationId, jobId));
        return new LiveDestination(migrationId, jobId, container, nodeName, targetNode, targetPeer, mode, images, target,
                processes, networks, handover);
    }

    /** The Slurm hand-over every move shares, which a move across nodes wraps. */
    JobHandover handover() {
        return handover;
    }

    /** Another node's agent, for requests outside a migration's own (the staying parts of a job on several nodes). */
    PeerClient agent(String node, InetSocketAddress peer) {
        return peers.connect(node, peer);
    }

    /** The shared directory's parked checkpoints; only where {@link #canPark()}. */
    public Destination parked(long jobId, int uid, int gid, ContainerManifest container) {
        return new ParkedDestination(jobId, uid, gid, container, nodeName, parked.orElseThrow(), processes, handover, clock);
    }
}
