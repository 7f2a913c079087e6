package org.lifeboat.agent.migration;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.logging.Logger;
import org.lifeboat.agent.container.RestoreRoot;
import org.lifeboat.agent.criu.Criu;
import org.lifeboat.agent.criu.JobOwner;
import org.lifeboat.agent.network.JobNetwork;
import org.lifeboat.agent.network.JobNetworks;

/** Restores an incoming migration's images as a stopped copy on this node. */
public final class CopyRestorer {

    private static final Duration CRIU_TIMEOUT = Duration.ofMinutes(30);
    private static final Logger LOG = Logger.getLogger(CopyRestorer.class.getName());

    private final Criu criu;
    private final RestoreRoot restoreRoots;
    private final JobNetworks networks;
    private final String uplink;

    /** @param uplink the node's interface that jobs' own interfaces (macvlans) are made on */
    public CopyRestorer(Criu criu, RestoreRoot restoreRoots, JobNetworks networks, String uplink) {
        this.criu = Objects.requireNonNull(criu, "criu");
        this.restoreRoots = Objects.requireNonNull(restoreRoots, "restoreRoots");
        this.networks = Objects.requireNonNull(networks, "networks");
        this.uplink = Objects.requireNonNull(uplink, "uplink");
    }

    /** Sets the migration's restored pid and CRIU's time; any failure leaves what was set up for the discard. */
    void restore(IncomingMigration migration) throws Exception {
        LOG.info("migration " + migration.id + ": restoring job " + migration.jobId + " from its images");
        Optional<JobOwner> owner = CriuSpecs.owner(migration.manifest);
        // Received by root (page server, tar), or written to a file server that shows root's files as root's
        // (sshfs; NFS with root_squash off): the owner's CRIU restores from them, and may free the pages.
        OwnedDirectories.handOver(migration.images, owner);
        CheckpointDirectories.prepareRestoreRoot(migration.root);
        restoreRoots.build(migration.root, migration.manifest);
        CheckpointDirectories.handOverRestoreRoot(migration.root, owner);
        Optional<JobNetwork> restoring = Optional.ofNullable(migration.network).map(n -> JobNetworks.restoring(n, migration.id));
        if (restoring.isPresent()) {
            // The source released the address after its dump: it comes up here before the sockets bind to it.
            networks.createDeaf(restoring.get(), uplink, migration.id);
            migration.networkCreated = true;
        }
        boolean lazyPages = migration.mode == TransferMode.POST_COPY;
        if (lazyPages) {
            // The daemon first: the restore hands it the processes' userfaultfds. Its connection goes to the
            // relay of the source's pages, which has waited for it (see IncomingMigrations#pipe).
            migration.lazyPages.complete(LazyPages.start(criu, migration.images));
        }
        long started = System.nanoTime();
        try {
            // Diskless images are a copy: until the source hears the confirmation it holds the job frozen, and a
            // failed restore resumes it there, so CRIU may free each page as it restores it (the node then holds
            // the job's memory once, not twice). Shared-fs images stay whole, as the shared copy they are.
            migration.restoredPid = CriuSpecs.restore(criu, networks, migration.id, migration.manifest, migration.images,
                    migration.root, restoring.map(n -> JobNetworks.NAMED_NAMESPACES.resolve(n.namespace())),
                    CRIU_TIMEOUT, migration.mode == TransferMode.DISKLESS, lazyPages);
        } finally {
            // The restored container holds its own copy of the root mount.
            restoreRoots.unmount(migration.root);
        }
        migration.criuMillis = (System.nanoTime() - started) / 1_000_000;
        if (lazyPages) {
            LazyPages.restored(migration.images, migration.restoredPid);
        }
        LOG.info("migration " + migration.id + ": job " + migration.jobId + " restored as pid " + migration.restoredPid);
    }
}
