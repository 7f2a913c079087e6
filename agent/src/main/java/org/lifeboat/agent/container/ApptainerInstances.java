package org.lifeboat.agent.container;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.agent.process.CommandRunner;
import org.lifeboat.agent.process.SystemUsers;

/**
 * Finds a job's Apptainer instance and describes it for CRIU. The instance is the one in
 * {@code apptainer instance list --json} whose container process (sinit) lies in the job's
 * cgroup: Apptainer's master daemonizes, so the instance is not below the step's tasks, but it
 * stays in the cgroup Slurm made for the job. Before it is described, lifeboat-adopt-instance
 * makes it dumpable (sessions inside its PID namespace, no O_NOFOLLOW descriptors).
 *
 * <p>What CRIU needs from it, and where it comes from:
 * <ul>
 * <li>the root: the SIF's squashfs partition, mounted from a loop device only the container's
 *     mount namespace sees; the loop device's backing file, offset and size (sysfs) say which;
 * <li>the files sinit holds from the host (the starter binary and its libraries, mapped; the log
 *     files and /dev/null the master opened as its stdout, stderr and stdin): CRIU can only
 *     name them ({@code --external file[MNT_ID:INODE]}) and be handed them again on restore;
 * <li>the bind mounts (home, /tmp, /dev, --bind, ...): CRIU detects them itself as external.
 * </ul>
 */
public final class ApptainerInstances {

    static final int SUPERBLOCK_BYTES = 4096;
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);
    private static final int O_ACCMODE = 3;

    private final String apptainer;
    private final Path adoptInstance;
    private final Path proc;
    private final Path sys;
    private final CommandRunner commands;
    private final SystemUsers users;
    private final ContainerProcesses processes;
    private final ObjectMapper json = AgentJson.mapper();

    /**
     * @param apptainer the apptainer command
     * @param adoptInstance the lifeboat-adopt-instance helper
     */
    public ApptainerInstances(String apptainer, Path adoptInstance, Path proc, Path sys, CommandRunner commands,
                              SystemUsers users, ContainerProcesses processes) {
        this.apptainer = Objects.requireNonNull(apptainer, "apptainer");
        this.adoptInstance = Objects.requireNonNull(adoptInstance, "adoptInstance");
        this.proc = Objects.requireNonNull(proc, "proc");
        this.sys = Objects.requireNonNull(sys, "sys");
        this.commands = Objects.requireNonNull(commands, "commands");
        this.users = Objects.requireNonNull(users, "users");
        this.processes = Objects.requireNonNull(processes, "processes");
    }

    /** The job's instance, made dumpable and described; empty when the job runs none (or Apptainer is absent). */
    public Optional<ContainerManifest> find(long jobId, int uid) throws IOException {
        CommandResult listed;
        try {
            listed = commands.run(listCommand(uid), COMMAND_TIMEOUT);
        } catch (CommandException e) {
            return Optional.empty();
        }
        if (!listed.succeeded()) {
            return Optional.empty();
        }
        JsonNode instances = json.readTree(listed.stdout()).path("instances");
        for (JsonNode instance : instances) {
            long pid = instance.path("pid").asLong();
            if (pid > 1 && inJob(pid, jobId)) {
                return Optional.of(describe(instance.path("instance").asText(), instance.path("img").asText(), pid,
                        instance.path("logOutPath").asText(null), instance.path("logErrPath").asText(null)));
            }
        }
        return Optional.empty();
    }

    /**
     * Apptainer lists the instances of the user who runs it, from their ~/.apptainer: the job
     * owner's, so the agent runs it as them, with their groups and home, and nothing of root's.
     */
    List<String> listCommand(int uid) throws CommandException {
        List<String> list = List.of(apptainer, "instance", "list", "--json");
        if (uid == 0) {
            return list;
        }
        SystemUsers.Account account = users.account(uid);
        List<String> command = new ArrayList<>(List.of("setpriv", "--reuid=" + uid, "--regid=" + account.gid(), "--init-groups",
                "env", "-i", "HOME=" + account.home(), "USER=" + account.name(), "PATH=/usr/local/bin:/usr/bin:/bin"));
        command.addAll(list);
        return command;
    }

    private boolean inJob(long pid, long jobId) throws IOException {
        return ProcessCgroups.of(proc, pid).map(cgroups -> cgroups.isInJob(jobId)).orElse(false);
    }

    /**
     * The same instance described again, as it is now: after a move it runs on another node,
     * whose mounts (and so the names CRIU gives its outside files) differ, and Apptainer there
     * does not know it (its master stayed behind), so it is described from its pid.
     */
    public ContainerManifest refresh(ContainerManifest instance) throws IOException {
        return describe(instance.apptainer().instance(), instance.apptainer().image(), instance.initPid(), instance.stdout(),
                instance.stderr());
    }

    private ContainerManifest describe(String name, String listedImage, long pid, String logOut, String logErr)
            throws IOException {
        try {
            commands.run(List.of(adoptInstance.toString(), Long.toString(pid)), COMMAND_TIMEOUT).requireSuccess();
        } catch (CommandException e) {
            throw new IOException("cannot make Apptainer instance " + name + " (pid " + pid + ") dumpable: " + e.getMessage(), e);
        }
        Path process = proc.resolve(Long.toString(pid));
        List<String[]> mounts = mountInfo(process.resolve("mountinfo"));
        String[] root = mounts.stream().filter(mount -> mount[4].equals("/")).reduce((first, last) -> last)
                .orElseThrow(() -> new IOException("instance " + name + " has no root mount"));
        String rootType = root[root.length - 3];
        String rootSource = root[root.length - 2];
        Path loop;
        List<ContainerManifest.SkeletonEntry> overlayMountPoints = List.of();
        if (rootType.equals("squashfs") && rootSource.startsWith("/dev/loop")) {
            loop = sys.resolve("block").resolve(Path.of(rootSource).getFileName().toString()).resolve("loop");
        } else if (rootType.equals("overlay") && root[root.length - 1].contains(",upperdir=")) {
            // Apptainer's overlay for missing mount points: its lower layer, the image's squashfs, is
            // mounted where the container no longer sees it, so its loop device is found by its file.
            loop = loopDeviceOf(Path.of(listedImage), name);
            overlayMountPoints = mountPoints(process, mounts);
        } else {
            throw new IOException("instance " + name + " has a " + rootType + " root on " + rootSource
                    + ": only a SIF's squashfs root, or Apptainer's overlay of it, can be rebuilt on another node");
        }
        String image = Files.readString(loop.resolve("backing_file")).strip();
        long offset = Long.parseLong(Files.readString(loop.resolve("offset")).strip());
        long size = Long.parseLong(Files.readString(loop.resolve("sizelimit")).strip());
        if (size == 0) {
            size = Files.size(Path.of(image)) - offset;
        }
        Set<Long> containerMounts = new HashSet<>();
        mounts.forEach(mount -> containerMounts.add(Long.parseLong(mount[0])));
        Map<String, ContainerManifest.ExternalFile> files = new LinkedHashMap<>();
        for (long member : processes.members(pid)) {
            outsideDescriptors(member, containerMounts, files);
        }
        mappedHostFiles(pid, files);
        String[] ids = statusIds(process);
        ContainerManifest.ApptainerRoot apptainerRoot = new ContainerManifest.ApptainerRoot(name, image, offset, size,
                superblockDigest(Path.of(image), offset), List.copyOf(files.values()), overlayMountPoints);
        return new ContainerManifest(ContainerManifest.SUPPORTED_VERSION, pid, ProcessStartTime.of(proc, pid),
                Integer.parseInt(ids[0]), Integer.parseInt(ids[1]),
                "/", null, List.of(), List.of(), "/", logOut, logErr, null, List.of(apptainer, "instance", "start", image, name),
                apptainerRoot, null, null, null);
    }

    /** The loop device (its sysfs directory) that holds the image, a squashfs partition of it. */
    private Path loopDeviceOf(Path image, String name) throws IOException {
        Path real = image.toRealPath();
        try (var devices = Files.list(sys.resolve("block"))) {
            for (Path device : devices.filter(d -> d.getFileName().toString().startsWith("loop")).sorted().toList()) {
                Path backing = device.resolve("loop").resolve("backing_file");
                if (Files.isRegularFile(backing) && Files.readString(backing).strip().equals(real.toString())) {
                    return device.resolve("loop");
                }
            }
        }
        throw new IOException("instance " + name + ": no loop device holds its image " + real);
    }

    /** Every mount point below the container's root, a directory or a file, as its overlay holds them. */
    private static List<ContainerManifest.SkeletonEntry> mountPoints(Path process, List<String[]> mounts) {
        List<ContainerManifest.SkeletonEntry> points = new ArrayList<>();
        for (String[] mount : mounts) {
            String point = mount[4];
            if (!point.equals("/") && points.stream().noneMatch(known -> known.path().equals(point))) {
                boolean directory = Files.isDirectory(process.resolve("root").resolve(point.substring(1)));
                points.add(new ContainerManifest.SkeletonEntry(point, directory ? "directory" : "file", null));
            }
        }
        return points;
    }

    /** SHA-256 of the partition's first bytes: the same image on the target, checked before it is mounted there. */
    public static String superblockDigest(Path image, long offset) throws IOException {
        byte[] superblock = new byte[SUPERBLOCK_BYTES];
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "r")) {
            file.seek(offset);
            file.readFully(superblock);
        }
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(superblock));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }

    /** Descriptors of the process on a mount the container does not have: opened outside it. */
    private void outsideDescriptors(long pid, Set<Long> containerMounts, Map<String, ContainerManifest.ExternalFile> files)
            throws IOException {
        Path process = proc.resolve(Long.toString(pid));
        List<Path> descriptors;
        try (var listing = Files.list(process.resolve("fd"))) {
            descriptors = listing.toList();
        } catch (NoSuchFileException ended) {
            return;
        }
        for (Path descriptor : descriptors) {
            long mountId = -1;
            int flags = 0;
            try {
                for (String line : Files.readAllLines(process.resolve("fdinfo").resolve(descriptor.getFileName()))) {
                    if (line.startsWith("mnt_id:")) {
                        mountId = Long.parseLong(line.substring(7).strip());
                    } else if (line.startsWith("flags:")) {
                        flags = Integer.parseInt(line.substring(6).strip(), 8);
                    }
                }
                Path target = Files.readSymbolicLink(descriptor);
                if (mountId < 0 || containerMounts.contains(mountId) || !target.isAbsolute() || !Files.isRegularFile(descriptor)
                        && !target.startsWith("/dev/")) {
                    continue;
                }
                long inode = (Long) Files.getAttribute(descriptor, "unix:ino");
                String key = "file[" + Long.toHexString(mountId) + ":" + Long.toHexString(inode) + "]";
                files.putIfAbsent(key, new ContainerManifest.ExternalFile(key, target.toString(), (flags & O_ACCMODE) == 0 ? "r" : "a"));
            } catch (NoSuchFileException closed) {
                // Closed while we looked: nothing to dump.
            }
        }
    }

    /**
     * The host files the init maps: the starter binary and its libraries. Their paths in
     * /proc/PID/maps are the host's (they lie outside the container's root); each is checked to be
     * the mapped file by device and inode.
     */
    private void mappedHostFiles(long pid, Map<String, ContainerManifest.ExternalFile> files) throws IOException {
        List<String[]> hostMounts = mountInfo(proc.resolve("self").resolve("mountinfo"));
        for (String line : Files.readAllLines(proc.resolve(Long.toString(pid)).resolve("maps"))) {
            String[] fields = line.trim().split("\\s+", 6);
            if (fields.length < 6 || !fields[5].startsWith("/")) {
                continue;
            }
            Path file = Path.of(fields[5]);
            long inode = Long.parseLong(fields[4]);
            String[] device = fields[3].split(":");
            long major = Long.parseLong(device[0], 16);
            long minor = Long.parseLong(device[1], 16);
            try {
                if ((Long) Files.getAttribute(file, "unix:ino") != inode
                        || (Long) Files.getAttribute(file, "unix:dev") != ((minor & 0xff) | (major << 8) | ((minor & ~0xffL) << 12))) {
                    continue;
                }
            } catch (NoSuchFileException notOnTheHost) {
                continue;
            }
            long mountId = hostMountOf(file, major + ":" + minor, hostMounts);
            String key = "file[" + Long.toHexString(mountId) + ":" + Long.toHexString(inode) + "]";
            files.putIfAbsent(key, new ContainerManifest.ExternalFile(key, file.toString(), "r"));
        }
    }

    /** The id of the host mount a path lies on: the deepest mount point above it with the file's device, the last one mounted. */
    private static long hostMountOf(Path file, String device, List<String[]> hostMounts) throws IOException {
        String[] best = null;
        for (String[] mount : hostMounts) {
            Path point = Path.of(mount[4]);
            if (mount[2].equals(device) && file.startsWith(point)
                    && (best == null || point.getNameCount() >= Path.of(best[4]).getNameCount())) {
                best = mount;
            }
        }
        if (best == null) {
            throw new IOException("no mount of device " + device + " holds " + file);
        }
        return Long.parseLong(best[0]);
    }

    private static List<String[]> mountInfo(Path mountinfo) throws IOException {
        List<String[]> mounts = new ArrayList<>();
        for (String line : Files.readAllLines(mountinfo)) {
            mounts.add(line.split(" "));
        }
        return mounts;
    }

    /** Real uid and gid from /proc/PID/status. */
    private static String[] statusIds(Path process) throws IOException {
        String uid = null;
        String gid = null;
        for (String line : Files.readAllLines(process.resolve("status"))) {
            if (line.startsWith("Uid:")) {
                uid = line.substring(4).trim().split("\\s+")[0];
            } else if (line.startsWith("Gid:")) {
                gid = line.substring(4).trim().split("\\s+")[0];
            }
        }
        if (uid == null || gid == null) {
            throw new IOException(process + "/status has no Uid or Gid line");
        }
        return new String[] {uid, gid};
    }
}
