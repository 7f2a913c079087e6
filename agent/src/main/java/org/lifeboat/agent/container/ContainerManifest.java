package org.lifeboat.agent.container;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What {@code lifeboat-run} wrote about a container it started: everything CRIU needs to dump it
 * here and rebuild it on another node (see launcher/README.md, "The manifest"). For an Apptainer
 * instance the agent writes it itself ({@link ApptainerInstances}): then {@code apptainer} says
 * how to rebuild its root, the skeleton and mounts are empty (CRIU finds the instance's bind
 * mounts itself) and stdout/stderr are the instance's log files.
 */
public record ContainerManifest(
        @JsonProperty("version") int version,
        @JsonProperty("init-pid") long initPid,
        @JsonProperty("init-start") long initStart,
        @JsonProperty("uid") int uid,
        @JsonProperty("gid") int gid,
        @JsonProperty("root") String root,
        @JsonProperty("netns") String networkNamespace,
        @JsonProperty("skeleton") List<SkeletonEntry> skeleton,
        @JsonProperty("mounts") List<Mount> mounts,
        @JsonProperty("chdir") String workingDirectory,
        @JsonProperty("stdout") String stdout,
        @JsonProperty("stderr") String stderr,
        @JsonProperty("exit-status-file") String exitStatusFile,
        @JsonProperty("argv") List<String> argv,
        @JsonProperty("apptainer") ApptainerRoot apptainer,
        @JsonProperty("job") String job,
        @JsonProperty("tasks") String tasks,
        @JsonProperty("network") String network) {

    /**
     * 4: {@code network} added (a container may have a network namespace of its own holding only
     * loopback); 3: {@code job} and {@code tasks} added, a container holds every task of its job on
     * the node (launcher/README.md); 2 added {@code init-start} (version 1 cannot be told from a
     * reused pid).
     */
    public static final int SUPPORTED_VERSION = 4;
    /**
     * The oldest version read: a version 3 manifest is a version 4 one without {@code network}, so
     * containers started before an upgrade of lifeboat-run stay movable.
     */
    public static final int OLDEST_SUPPORTED_VERSION = 3;
    /** {@code network}: the container's network namespace is its own and holds only loopback. */
    public static final String LOOPBACK_NETWORK = "loopback";
    /**
     * The largest manifest, in bytes of JSON, that the agent reads and sends to a target; lifeboat-run
     * refuses to start a container whose manifest would be larger (MANIFEST_MAX_BYTES in
     * launcher/src/main.c, the same number). Sized from what a manifest carries (the environment is
     * not among it): argv, at most Linux's default ARG_MAX of 2 MiB (a quarter of the default 8 MiB
     * stack, shared with the environment), doubled for escaped quotes and backslashes, 4 MiB; the
     * skeleton's 256 entries and the 24 binds with both of their paths at PATH_MAX (4 KiB), 2.2 MiB;
     * six more paths, 24 KiB. 6.2 MiB, and a margin for field names: 8 MiB.
     */
    public static final int MAX_BYTES = 8 * 1024 * 1024;

    /** A container lifeboat-run started. */
    public ContainerManifest(int version, long initPid, long initStart, int uid, int gid, String root, String networkNamespace,
                             List<SkeletonEntry> skeleton, List<Mount> mounts, String workingDirectory, String stdout,
                             String stderr, String exitStatusFile, List<String> argv) {
        this(version, initPid, initStart, uid, gid, root, networkNamespace, skeleton, mounts, workingDirectory, stdout, stderr,
                exitStatusFile, argv, null, null, null, null);
    }

    public ContainerManifest {
        skeleton = List.copyOf(Objects.requireNonNull(skeleton, "skeleton"));
        mounts = List.copyOf(Objects.requireNonNull(mounts, "mounts"));
        argv = List.copyOf(Objects.requireNonNull(argv, "argv"));
    }

    /** The same container, now rooted at another process (after a restore). */
    public ContainerManifest withInit(long pid, long startTime) {
        return new ContainerManifest(version, pid, startTime, uid, gid, root, networkNamespace, skeleton, mounts,
                workingDirectory, stdout, stderr, exitStatusFile, argv, apptainer, job, tasks, network);
    }

    /**
     * Whether the container's network namespace is its own and holds nothing but loopback
     * (lifeboat-run --network=loopback): its TCP connections move with it, and the target gives
     * it a fresh namespace of the same kind.
     */
    public boolean hasLoopbackNetwork() {
        return LOOPBACK_NETWORK.equals(network);
    }

    /** Whether the container's network namespace is not the node's: named (--netns) or loopback only. */
    public boolean hasOwnNetwork() {
        return networkNamespace != null || hasLoopbackNetwork();
    }

    /** For `criu dump --external mnt[TARGET]:KEY`: mount target inside the container to key. */
    public Map<String, String> externalMountsForDump() {
        Map<String, String> external = new LinkedHashMap<>();
        mounts.forEach(mount -> external.put(mount.target(), mount.key()));
        return external;
    }

    /** For `criu restore --external mnt[KEY]:SOURCE`: key to this node's host path. */
    public Map<String, String> externalMountsForRestore() {
        Map<String, String> external = new LinkedHashMap<>();
        mounts.forEach(mount -> external.put(mount.key(), mount.source()));
        return external;
    }

    /** A directory, empty file or symlink of the container's root file system, as lifeboat-run created it. */
    public record SkeletonEntry(
            @JsonProperty("path") String path,
            @JsonProperty("type") String type,
            @JsonProperty("target") String target) {}

    /** A bind mount of a host path into the container. */
    public record Mount(
            @JsonProperty("key") String key,
            @JsonProperty("source") String source,
            @JsonProperty("target") String target,
            @JsonProperty("read-only") boolean readOnly) {}

    /**
     * How an Apptainer instance's root is rebuilt on the target, and the files it holds from
     * outside its mount namespace.
     *
     * @param image the SIF file, at the same path on every node (a shared file system)
     * @param offset where the root partition (squashfs) starts in it
     * @param size the partition's size
     * @param superblockSha256 SHA-256 of the partition's first {@value ApptainerInstances#SUPERBLOCK_BYTES} bytes
     *     (squashfs superblock and what follows): the target's image must be the same one
     * @param files what CRIU dumped as external files and must be handed on restore
     * @param overlayMountPoints empty when the root is the image's squashfs itself; else the root is
     *     Apptainer's read-only overlay of the image, made to hold the mount points the image lacks
     *     (a user's home, mostly): every mount point of the container, each a directory or a file,
     *     of which the target creates those its copy of the image lacks
     */
    public record ApptainerRoot(
            @JsonProperty("instance") String instance,
            @JsonProperty("image") String image,
            @JsonProperty("offset") long offset,
            @JsonProperty("size") long size,
            @JsonProperty("superblock-sha256") String superblockSha256,
            @JsonProperty("files") List<ExternalFile> files,
            @JsonProperty("overlay-mount-points") List<SkeletonEntry> overlayMountPoints) {

        public ApptainerRoot {
            files = List.copyOf(Objects.requireNonNull(files, "files"));
            overlayMountPoints = overlayMountPoints == null ? List.of() : List.copyOf(overlayMountPoints);
        }
    }

    /**
     * A file opened outside the container: CRIU names it {@code key} (file[MNT_ID:INODE]) and gets
     * it on restore from a descriptor opened on {@code path} with {@code mode} (r or a).
     */
    public record ExternalFile(
            @JsonProperty("key") String key,
            @JsonProperty("path") String path,
            @JsonProperty("mode") String mode) {}
}
