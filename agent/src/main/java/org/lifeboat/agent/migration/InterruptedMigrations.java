package org.lifeboat.agent.migration;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.lifecycle.LifeCycleComponent;
import org.lifeboat.agent.peer.PeerRequestException;
import org.lifeboat.agent.process.CommandException;

/**
 * At start: deals with the moves this agent was running when it stopped, each found by its control
 * directory on this node. Before the requeue, CRIU has given the job back already (its post-dump
 * script watches this agent), so the target is told to discard its part and the images go. After
 * the requeue started nothing is touched: CRIU keeps the copy frozen until its decision limit, Slurm
 * has (or has not) requeued the job, and the images may still be the job's only checkpoint.
 */
public final class InterruptedMigrations implements LifeCycleComponent {

    private static final Logger LOG = Logger.getLogger(InterruptedMigrations.class.getName());

    private final Path checkpointDirectory;
    private final Optional<Path> sharedDirectory;
    private final Destinations.PeerConnector peers;
    private final ContainerProcesses processes;

    public InterruptedMigrations(Path checkpointDirectory, Optional<Path> sharedDirectory, Destinations.PeerConnector peers,
                                 ContainerProcesses processes) {
        this.checkpointDirectory = Objects.requireNonNull(checkpointDirectory, "checkpointDirectory");
        this.sharedDirectory = Objects.requireNonNull(sharedDirectory, "sharedDirectory");
        this.peers = Objects.requireNonNull(peers, "peers");
        this.processes = Objects.requireNonNull(processes, "processes");
    }

    @Override
    public void start() {
        recover();
    }

    @Override
    public void stop() {
        // Recovery runs once, at start.
    }

    /** Recovers every interrupted move; one that cannot be cleaned up is logged and left for the next start. */
    public void recover() {
        Path outgoing = MigrationDriver.outgoingDirectory(checkpointDirectory);
        if (!Files.isDirectory(outgoing)) {
            return;
        }
        try (Stream<Path> interrupted = Files.list(outgoing)) {
            // Directories only: the post-dump script lives beside them.
            for (Path control : (Iterable<Path>) interrupted.filter(Files::isDirectory)::iterator) {
                recover(control);
            }
        } catch (IOException e) {
            LOG.warning("cannot look for interrupted migrations in " + outgoing + ": " + e.getMessage());
        }
    }

    private void recover(Path control) {
        String migrationId = control.getFileName().toString();
        // A migration's images are named as its control directory: a diskless one's in the dumps directory,
        // a shared-fs one's in the shared directory.
        Optional<Path> sharedImages = sharedDirectory.map(shared -> shared.resolve(migrationId)).filter(Files::isDirectory);
        Path dumpedImages = CheckpointDirectories.dumps(checkpointDirectory).resolve(migrationId);
        if (PostDumpHook.requeueStarted(control)) {
            LOG.warning("migration " + migrationId + " was interrupted after its requeue started: its images in "
                    + sharedImages.orElse(dumpedImages) + " are kept; CRIU keeps the source copy frozen until its decision limit");
            return;
        }
        try {
            boolean targetRunsTheJob = TargetRecord.read(control).map(target -> tellTargetToDiscard(migrationId, target))
                    .orElse(false);
            if (PostDumpHook.dumped(control)) {
                // A copy left here, frozen by a CRIU still waiting for its decision, must never run beside the target's.
                if (targetRunsTheJob) {
                    PostDumpHook.commit(control);
                } else {
                    PostDumpHook.rollBack(control);
                }
            }
            Optional<Long> stopped = PostDumpHook.stoppedTree(control, processes);
            if (stopped.isPresent()) {
                // Post-copy: CRIU let the tree go when this agent's relay ended; this agent had stopped it.
                if (targetRunsTheJob) {
                    processes.kill(stopped.get());
                } else {
                    processes.resume(stopped.get());
                }
            }
            if (sharedImages.isPresent()) {
                DirectoryTrees.delete(sharedImages.get());
            }
            DirectoryTrees.delete(dumpedImages);
            DirectoryTrees.delete(control);
            LOG.info("migration " + migrationId + " was interrupted by this agent's stop before its requeue: "
                    + (targetRunsTheJob ? "its target runs the job now" : "rolled back"));
        } catch (IOException | CommandException e) {
            LOG.warning("cannot clean up the interrupted migration " + migrationId + ": " + e.getMessage());
        }
    }

    /**
     * Returns whether the target refused because it runs the job: this whole node was lost after the
     * restore there, and Slurm requeued the job meanwhile (the target's orphan take-over).
     */
    private boolean tellTargetToDiscard(String migrationId, TargetRecord.Target target) {
        try {
            new PeerTargetAgent(peers.connect(target.node(), target.address()),
                    new MigrationRequest(migrationId, TargetRecord.jobOf(migrationId))).abort();
            return false;
        } catch (PeerRequestException e) {
            LOG.warning("migration " + migrationId + ": the target " + target + " refused to discard it: " + e.getMessage());
            return e.code().equals("conflict");
        } catch (Exception e) {
            LOG.warning("migration " + migrationId + ": the target " + target + " could not be told to discard it: "
                    + e.getMessage());
            return false;
        }
    }
}
