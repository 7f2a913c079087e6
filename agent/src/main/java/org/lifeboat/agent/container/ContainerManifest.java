package org.lifeboat.agent.container;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What {@code lifeboat-run} wrote about a container it started: everything CRIU needs to dump it
 * here and rebuild it on another node (see launcher/README.md, "The manifest").
 */
public record ContainerManifest(
        @JsonProperty("version") int version,
        @JsonProperty("init-pid") long initPid,
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
        @JsonProperty("argv") List<String> argv) {

    public static final int SUPPORTED_VERSION = 1;

    public ContainerManifest {
        skeleton = List.copyOf(Objects.requireNonNull(skeleton, "skeleton"));
        mounts = List.copyOf(Objects.requireNonNull(mounts, "mounts"));
        argv = List.copyOf(Objects.requireNonNull(argv, "argv"));
    }

    /** The same container, now rooted at another pid (after a restore). */
    public ContainerManifest withInitPid(long pid) {
        return new ContainerManifest(version, pid, uid, gid, root, networkNamespace, skeleton, mounts,
                workingDirectory, stdout, stderr, exitStatusFile, argv);
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
}
