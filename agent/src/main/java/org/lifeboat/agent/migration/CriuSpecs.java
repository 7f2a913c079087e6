package org.lifeboat.agent.migration;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.criu.Checkpointer;
import org.lifeboat.agent.criu.Criu;
import org.lifeboat.agent.criu.JobOwner;
import org.lifeboat.agent.network.JobNetworks;

/**
 * What CRIU is told about a container, from its manifest, the same for a migration and a park:
 * its bind mounts, and for an Apptainer instance the binds CRIU detects itself and the files it
 * holds from outside its mount namespace.
 */
final class CriuSpecs {

    // A dump of many GiB over a slow link takes minutes, then waits for the decision; a hung CRIU must still end.
    private static final Duration DUMP_TIMEOUT = Duration.ofMinutes(30).plus(PostDumpHook.DECISION_LIMIT);
    // Page images are about the resident memory; the rest (tree, files, tmpfs contents) is small, but not zero.
    static final long IMAGE_OVERHEAD_BYTES = 64L << 20;
    /** The names of the namespaces restores run in, for the moment of the restore alone. */
    static final String LOOPBACK_NAMESPACE_PREFIX = "lifeboat-restore-";

    private CriuSpecs() {
    }

    /** What a checkpoint of a container with this resident memory will roughly weigh, to check there is room for it before the freeze. */
    static long expectedImageBytes(long residentBytes) {
        return residentBytes + IMAGE_OVERHEAD_BYTES;
    }

    /**
     * @param networkNamespace the job's named namespace (lifeboat-run --netns), if it has one; a
     *     container with a loopback-only namespace is dumped from inside that namespace, reached through its init
     */
    static Criu.DumpSpec dump(ContainerManifest container, Path images, Optional<InetSocketAddress> pageServer,
                              Path actionScript, Optional<Path> networkNamespace, boolean lazyPages) {
        ContainerManifest.ApptainerRoot apptainer = container.apptainer();
        Optional<Path> dumpedFrom = container.hasLoopbackNetwork()
                ? Optional.of(Path.of("/proc", Long.toString(container.initPid()), "ns", "net"))
                : networkNamespace;
        return new Criu.DumpSpec(container.initPid(), images, container.externalMountsForDump(), pageServer, actionScript,
                dumpedFrom, DUMP_TIMEOUT, apptainer != null,
                apptainer == null ? List.of() : apptainer.files().stream().map(ContainerManifest.ExternalFile::key).toList(),
                owner(container), lazyPages);
    }

    static Criu.RestoreSpec restore(ContainerManifest container, Path images, Path root, Optional<Path> networkNamespace,
                                    Duration timeout, boolean releasePagesAsRestored, boolean lazyPages) throws IOException {
        ContainerManifest.ApptainerRoot apptainer = container.apptainer();
        return new Criu.RestoreSpec(images, root, container.externalMountsForRestore(), networkNamespace, timeout,
                apptainer != null, apptainer == null ? List.of() : inheritedFiles(apptainer), releasePagesAsRestored,
                owner(container), lazyPages);
    }

    /**
     * Restores the container into a fresh loopback-only namespace when that is what it had (its
     * name, unique on this node, then goes again: see {@link JobNetworks#createLoopback}), else as
     * {@code networkNamespace} says.
     */
    static long restore(Checkpointer criu, JobNetworks networks, String name, ContainerManifest container,
                        Path images, Path root, Optional<Path> networkNamespace, Duration timeout,
                        boolean releasePagesAsRestored, boolean lazyPages) throws Exception {
        if (!container.hasLoopbackNetwork()) {
            return criu.restore(restore(container, images, root, networkNamespace, timeout, releasePagesAsRestored, lazyPages));
        }
        Path loopback = networks.createLoopback(LOOPBACK_NAMESPACE_PREFIX + name);
        try {
            return criu.restore(restore(container, images, root, Optional.of(loopback), timeout, releasePagesAsRestored,
                    lazyPages));
        } finally {
            networks.deleteName(loopback.getFileName().toString());
        }
    }

    /** CRIU runs as the job's owner; a job of root's is checkpointed by root. */
    static Optional<JobOwner> owner(ContainerManifest container) {
        return container.uid() == 0 ? Optional.empty() : Optional.of(new JobOwner(container.uid(), container.gid()));
    }

    /**
     * The instance's outside files, opened here: the same binaries (identical nodes; CRIU checks
     * their size), and its log files, appended to at the same path (created with their directories
     * when node-local and new here). Nothing is made here, as root: lifeboat-with-fds opens them,
     * making the directories, as whoever CRIU runs as (the job's owner), with no link followed.
     */
    private static List<Criu.InheritedFile> inheritedFiles(ContainerManifest.ApptainerRoot apptainer) throws IOException {
        List<Criu.InheritedFile> files = new ArrayList<>();
        for (ContainerManifest.ExternalFile file : apptainer.files()) {
            if (!file.mode().equals("r") && !file.mode().equals("a")) {
                throw new IOException("external file " + file.path() + " has mode '" + file.mode() + "', not r or a");
            }
            Path path = Path.of(file.path());
            if (!path.isAbsolute()) {
                throw new IOException("external file " + file.path() + " is not an absolute path");
            }
            files.add(new Criu.InheritedFile(file.key(), file.path(), file.mode()));
        }
        return files;
    }
}
