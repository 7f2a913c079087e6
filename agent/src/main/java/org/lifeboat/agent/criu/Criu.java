package org.lifeboat.agent.criu;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.agent.process.CommandRunner;

/**
 * The one place the agent runs CRIU. Every run writes a log into its image directory, CRIU is
 * judged by its exit code (every run logs an "Error" about RLIMIT_NOFILE on nodes where root lacks
 * CAP_SYS_RESOURCE, and still succeeds), and a failure quotes the log's error lines.
 */
public final class Criu implements Checkpointer {

    static final String DUMP_LOG = "dump.log";
    static final String RESTORE_LOG = "restore.log";
    static final String PAGE_SERVER_LOG = "page-server.log";
    static final String LAZY_PAGES_LOG = "lazy-pages.log";
    static final String LAZY_GUARD = "lifeboat-lazy-guard";
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(30);
    private static final int QUOTED_ERROR_LINES = 12;
    private static final Pattern VERSION = Pattern.compile("Version: (\\S+)");
    // CRIU's feature names (criu check --feature NAME) under the names Lifeboat reports.
    private static final Map<String, String> FEATURES = Map.of(
            "memory-tracking", "mem_dirty_track",
            "lazy-pages", "uffd-noncoop",
            "tcp-half-closed", "tcp_half_closed",
            CriuCapabilities.NFTABLES_NETWORK_LOCK, "network_lock_nftables");
    private static final Logger LOG = Logger.getLogger(Criu.class.getName());

    // Above stdin, stdout and stderr, and well below CRIU's own service descriptors (the top of its limit).
    private static final int FIRST_INHERITED_FD = 10;
    // A page server inherits nothing else, so the same number serves for its connection.
    private static final int PAGE_SERVER_FD = FIRST_INHERITED_FD;
    // Where CRIU run as a job's owner finds its image directory: above any inherited file.
    private static final int IMAGES_FD = 100;
    /**
     * What CRIU keeps when it runs as a job's owner, measured on kernel 6.18 with CRIU 4.2.1 by taking
     * each away. CAP_SYS_ADMIN enters the container's mount namespace, mounts and pivots its root on
     * restore and makes its PID namespace with the PIDs it had; CAP_SYS_CHROOT is the other half of
     * entering a mount namespace (without either, a lifeboat-run container's dump fails: "Can't setns
     * mnt"). CAP_SETPCAP lets the restored tree's bounding set be trimmed to the one it had: without it
     * the restore of a process not running with no_new_privs fails ("Unable to drop capability").
     * CAP_CHECKPOINT_RESTORE and CAP_SYS_PTRACE proved unnecessary: the owner may trace its own
     * processes, and CAP_SYS_ADMIN covers choosing PIDs in the new namespace.
     */
    static final List<String> OWNER_CAPABILITIES = List.of("sys_admin", "sys_chroot", "setpcap");
    /** A job with its own network namespace: TCP repair of its connections and the network lock. */
    static final String NETWORK_CAPABILITY = "net_admin";
    /**
     * A restore runs with the OOM killer's ordinary score adjustment, 0, not the agent's (its unit lowers
     * it, OOMScoreAdjust=): CRIU sets a restored task's adjustment only where the dump saw one other than
     * 0, and the others keep the one CRIU had, which a restored job must not inherit from the agent.
     */
    static final List<String> ORDINARY_OOM_SCORE = List.of("choom", "-n", "0", "--");

    private final String binary;
    private final CommandRunner commands;
    private final Optional<Path> withFds;
    /**
     * The largest deleted file a dump carries (see dump). Still a limit: a job holding a huge
     * deleted file fails its dump, and resumes, rather than filling the node's checkpoint tmpfs.
     */
    static final long GHOST_LIMIT_BYTES = 256L << 20;
    private final NetworkLock networkLock;

    /** A CRIU that restores no files from outside a container (lifeboat-run's containers hold none). */
    public Criu(String binary, CommandRunner commands, NetworkLock networkLock) {
        this(binary, commands, Optional.empty(), networkLock);
    }

    /**
     * @param withFds lifeboat-with-fds, which opens the files a restore is handed (Apptainer instances)
     * @param networkLock how a dump silences a job's own network namespace, as the probe found possible
     */
    public Criu(String binary, CommandRunner commands, Optional<Path> withFds, NetworkLock networkLock) {
        this.binary = Objects.requireNonNull(binary, "binary");
        this.commands = Objects.requireNonNull(commands, "commands");
        this.withFds = Objects.requireNonNull(withFds, "withFds");
        this.networkLock = Objects.requireNonNull(networkLock, "networkLock");
    }

    /**
     * Version, `criu check`, and each optional feature: what the engine may use, and what it must fall
     * back from. Static, because what the probe finds decides how the agent's one Criu is built.
     */
    public static CriuCapabilities probe(String binary, CommandRunner commands) throws CriuException {
        String version = version(binary, commands);
        try {
            boolean checkPassed = commands.run(List.of(binary, "check"), PROBE_TIMEOUT).succeeded();
            Map<String, Boolean> features = new LinkedHashMap<>();
            for (Map.Entry<String, String> feature : FEATURES.entrySet()) {
                features.put(feature.getKey(), commands.run(List.of(binary, "check", "--feature", feature.getValue()),
                        PROBE_TIMEOUT).succeeded());
            }
            return new CriuCapabilities(version, checkPassed, features);
        } catch (CommandException e) {
            throw new CriuException("cannot run CRIU (" + binary + "): " + e.getMessage(), e);
        }
    }

    /** The version {@code binary --version} prints: that CRIU is there and runs, without probing the kernel. */
    public static String version(String binary, CommandRunner commands) throws CriuException {
        try {
            CommandResult version = commands.run(List.of(binary, "--version"), PROBE_TIMEOUT).requireSuccess();
            Matcher matcher = VERSION.matcher(version.stdout());
            if (!matcher.find()) {
                throw new CriuException(binary + " --version printed no version: " + version.stdout().strip());
            }
            return matcher.group(1);
        } catch (CommandException e) {
            throw new CriuException("cannot run CRIU (" + binary + "): " + e.getMessage(), e);
        }
    }

    /**
     * Checkpoints the process tree rooted at {@code spec.initPid()}. Once the images are complete,
     * CRIU runs the action script with "post-dump" and keeps the tree frozen until the script
     * exits: 0 and CRIU kills the tree (it lives on elsewhere now), non-zero and CRIU gives it back,
     * network unlocked and TCP connections out of repair mode. So this call returns only once the
     * migration has been decided; a rollback shows as a CriuException (the script's exit code).
     */
    @Override
    public void dump(DumpSpec spec) throws CriuException {
        List<String> arguments = new ArrayList<>(List.of("dump",
                "--tree", Long.toString(spec.initPid()),
                "--images-dir", imagesArgument(spec.owner(), spec.imageDirectory()),
                // The point of no return is the agent's: the post-dump script holds the frozen tree
                // until the target has confirmed (commit) or failed (rollback), see above.
                "--action-script", spec.actionScript().toString(),
                // Jobs may hold flock/fcntl locks; without this CRIU refuses to dump them.
                "--file-locks",
                // Files deleted while open or mapped travel in the images. CRIU's 1 MiB default refuses
                // ordinary MPI jobs: MPICH's UCX maps 4 MiB files in /dev/shm that it has unlinked.
                "--ghost-limit", Long.toString(GHOST_LIMIT_BYTES),
                // The job's cgroups are Slurm's, on this node: the restored tree belongs in the cgroups of
                // whoever restores it on the target, never in paths copied from here (v1 and v2 alike).
                "--manage-cgroups=ignore"));
        if (spec.networkNamespace().isPresent()) {
            arguments.addAll(List.of(
                    // The job owns its network namespace and address: its connections move with it,
                    // saved with TCP repair and left in repair mode, so the source never sends a FIN or RST.
                    "--tcp-established",
                    // The namespace is silenced while frozen, by the method the probe chose (see NetworkLock).
                    "--network-lock", networkLock.argument()));
        }
        // Bind mounts of host paths are not saved, only named, and re-bound on the target.
        spec.externalMounts().forEach((target, key) -> arguments.addAll(List.of("--external", "mnt[" + target + "]:" + key)));
        if (spec.detectExternalMounts()) {
            // An Apptainer instance's binds (home, /tmp, /dev and its submounts, --bind, ...) are not
            // listed anywhere reliable: CRIU finds every bind of a host path itself, including those
            // that are slaves of host mounts ("m"), and names each by its host path.
            arguments.addAll(List.of("--external", "mnt[]:m"));
        }
        // Files opened outside the container's mount namespace, which CRIU cannot reopen by path.
        spec.externalFiles().forEach(key -> arguments.addAll(List.of("--external", key)));
        // Memory goes straight to the target's page server instead of into local files.
        List<String> connections = new ArrayList<>();
        spec.pageServer().ifPresent(server -> {
            if (spec.lazyPages()) {
                // Post-copy: the memory stays here, held by CRIU after the tree is gone, and is served on the
                // target's request through this connection, which root makes to the relay (CRIU would otherwise
                // listen on a port, and the first local user to connect would read the job's memory).
                connections.add(PAGE_SERVER_FD + ":t:" + server.getPort());
                arguments.addAll(List.of("--lazy-pages", "--ps-socket", Integer.toString(PAGE_SERVER_FD)));
            } else if (spec.networkNamespace().isEmpty()) {
                arguments.addAll(List.of("--page-server", "--address", server.getHostString(), "--port",
                        Integer.toString(server.getPort())));
            } else {
                // CRIU runs inside the job's own namespace, whose loopback is not the node's: it gets the
                // connection to the relay made, as root, before it enters (the relay takes root's).
                connections.add(PAGE_SERVER_FD + ":t:" + server.getPort());
                arguments.addAll(List.of("--page-server", "--ps-socket", Integer.toString(PAGE_SERVER_FD)));
            }
        });
        run(List.of(), connections, List.of(), arguments, spec.networkNamespace(), spec.owner(), spec.owner(),
                spec.imageDirectory(), DUMP_LOG, spec.timeout(), "dump of pid " + spec.initPid());
    }

    /** Restores a tree detached from the agent, stopped, and returns its root's pid on this node. */
    @Override
    public long restore(RestoreSpec spec) throws CriuException {
        Path pidFile = spec.imageDirectory().resolve("restored.pid");
        Optional<JobOwner> runAs = restoredBy(spec);
        String images = imagesArgument(runAs, spec.imageDirectory());
        List<String> arguments = new ArrayList<>(List.of("restore",
                "--images-dir", images,
                // Detached: the restored init must outlive this CRIU run; its end shows in its exit-status file.
                "--restore-detached",
                // The container's mount namespace is rebuilt on this root (the launcher's skeleton).
                "--root", spec.root().toString(),
                "--pidfile", images + "/" + pidFile.getFileName(),
                // Stopped until the source's copy is gone for good (Slurm has requeued the job): never two running copies.
                "--leave-stopped",
                "--file-locks",
                // The restored tree joins the cgroups CRIU runs in, the agent's, until CgroupAdopter moves it (see dump).
                "--manage-cgroups=ignore"));
        if (spec.networkNamespace().isPresent()) {
            // The connections come back from TCP repair, bound to the job's address, which must be up already.
            arguments.add("--tcp-established");
        }
        if (spec.lazyPages()) {
            // Post-copy: the memory marked lazy in the images is left out, and each process hands CRIU's
            // lazy-pages daemon (see startLazyPages) its userfaultfd, through which the pages arrive.
            arguments.add("--lazy-pages");
        }
        if (spec.releasePagesAsRestored()) {
            // Each page is punched out of the images (tmpfs) as soon as it is restored: the node holds the job's
            // memory about once during the restore instead of twice (images plus restored copy).
            arguments.add("--auto-dedup");
        }
        spec.externalMounts().forEach((key, source) -> arguments.addAll(List.of("--external", "mnt[" + key + "]:" + source)));
        if (spec.detectExternalMounts()) {
            // Every bind the dump detected comes from the same host path here.
            arguments.addAll(List.of("--ext-mount-map", "auto"));
        }
        // Outside files are handed in on descriptors lifeboat-with-fds opens, in order, with no link followed;
        // a log file is appended to, with its directories made first where they are new on this node (A).
        List<String> descriptors = new ArrayList<>();
        int descriptor = FIRST_INHERITED_FD;
        for (InheritedFile file : spec.inheritedFiles()) {
            descriptors.add(descriptor + ":" + (file.mode().equals("a") ? "A" : file.mode()) + ":" + file.path());
            arguments.addAll(List.of("--inherit-fd", "fd[" + descriptor + "]:" + file.key()));
            descriptor++;
        }
        run(ORDINARY_OOM_SCORE, List.of(), descriptors, arguments, spec.networkNamespace(), runAs, spec.owner(),
                spec.imageDirectory(), RESTORE_LOG, spec.timeout(), "restore from " + spec.imageDirectory());
        try {
            return Long.parseLong(Files.readString(pidFile).strip());
        } catch (IOException | NumberFormatException e) {
            throw new CriuException("CRIU restored but wrote no usable pid file " + pidFile + ": " + e.getMessage(), e);
        }
    }

    /**
     * Starts CRIU's page server, which writes the pages one dump sends into {@code imageDirectory}
     * and exits when that dump ends. It listens on nothing: lifeboat-with-fds connects it to a
     * socket only root can reach ({@link OwnerOnlySocket}, in {@code socketDirectory}, which must
     * not exist yet and is gone again on return) and CRIU serves that one connection
     * ({@code --ps-socket}; CRIU 4.2's {@code --daemon} keeps it, as it keeps every descriptor above
     * 2). A loopback port instead would take whichever local user connected first.
     *
     * @return the daemon, and the agent's end of its connection, to feed the dump's pages into
     */
    @Override
    public PageServer startPageServer(Path imageDirectory, Path socketDirectory, Duration timeout) throws CriuException {
        Path helper = withFds.orElseThrow(() -> new CriuException("a page server needs lifeboat-with-fds"));
        Path pidFile = imageDirectory.resolve("page-server.pid");
        try (OwnerOnlySocket socket = OwnerOnlySocket.bind(socketDirectory)) {
            List<String> prefix = List.of(helper.toString(), PAGE_SERVER_FD + ":u:" + socket.path(), "--");
            List<String> arguments = List.of("page-server",
                    "--images-dir", imageDirectory.toString(),
                    "--ps-socket", Integer.toString(PAGE_SERVER_FD),
                    "--daemon", "--pidfile", pidFile.toString());
            run(prefix, arguments, Optional.empty(), imageDirectory.resolve(PAGE_SERVER_LOG), timeout, "page server in "
                    + imageDirectory);
            // CRIU is past its start, so the helper's connection waits in the listener's backlog.
            SocketChannel connection = socket.takeConnection();
            try {
                return new PageServer(Long.parseLong(Files.readString(pidFile).strip()), connection);
            } catch (IOException | NumberFormatException e) {
                connection.close();
                throw new CriuException("the page server wrote no usable pid file " + pidFile + ": " + e.getMessage(), e);
            }
        } catch (IOException e) {
            throw new CriuException("cannot connect a page server in " + imageDirectory + ": " + e.getMessage(), e);
        }
    }

    /** A page server's daemon, and the agent's end of the one connection it serves. */
    public record PageServer(long pid, SocketChannel connection) {}

    /**
     * Starts CRIU's lazy-pages daemon for a post-copy restore from {@code imageDirectory}: the restore
     * ({@link RestoreSpec#lazyPages}) hands it each process's userfaultfd, and it fetches the pages
     * from the source through the connection returned here, which the agent relays (as for a page
     * server, connected through a socket only root can reach). It runs as root, as the restore does
     * (see {@link #restoredBy}), under lifeboat-lazy-guard: the guard returns once the daemon is ready
     * and traced, outlives the agent, and when the daemon fails before the last page kills the
     * restored tree named in {@code restoredPidFile} (written by the agent after the restore) before
     * a fault could be served a page of zeros. It writes its verdict, "complete" or "failed: ...",
     * to {@code statusFile}; both files lie in a directory only root can write.
     */
    public SocketChannel startLazyPages(Path imageDirectory, Path socketDirectory, Path statusFile,
                                        Path restoredPidFile, Duration timeout) throws CriuException {
        Path helper = withFds.orElseThrow(() -> new CriuException("lazy pages need lifeboat-with-fds"));
        // The guard is installed beside lifeboat-with-fds, in the agent's helper directory.
        Path guard = helper.resolveSibling(LAZY_GUARD);
        try (OwnerOnlySocket socket = OwnerOnlySocket.bind(socketDirectory)) {
            List<String> arguments = List.of("lazy-pages", "--page-server",
                    "--images-dir", imageDirectory.toString(),
                    "--ps-socket", Integer.toString(PAGE_SERVER_FD),
                    // The guard's readiness pipe: written once the socket the restore connects to listens.
                    "--status-fd", "3");
            run(List.of(guard.toString(), statusFile.toString(), restoredPidFile.toString(), "--"),
                    List.of(PAGE_SERVER_FD + ":u:" + socket.path()), List.of(), arguments, Optional.empty(), Optional.empty(),
                    Optional.empty(), imageDirectory, LAZY_PAGES_LOG, timeout, "lazy-pages daemon in " + imageDirectory);
            return socket.takeConnection();
        } catch (IOException e) {
            throw new CriuException("cannot connect a lazy-pages daemon in " + imageDirectory + ": " + e.getMessage(), e);
        }
    }

    /**
     * How CRIU names the image directory: by its path when it runs as root; as a job's owner, by the
     * descriptor lifeboat-with-fds opened on it. The owner's CRIU writes there, but the directory lies
     * below one only root may enter, so the owner cannot reach the images by any path in between:
     * images they could rewrite would restore with the capabilities CRIU runs with.
     */
    private static String imagesArgument(Optional<JobOwner> owner, Path imageDirectory) {
        return owner.isPresent() ? "/proc/self/fd/" + IMAGES_FD : imageDirectory.toString();
    }

    /**
     * Runs CRIU, inside the job's own network namespace when it has one (CRIU then neither saves nor
     * recreates the namespace, and its TCP repair and network lock act on the job's stack), and as the
     * job's owner when it has one: its uid, gid and groups, with {@link #OWNER_CAPABILITIES} alone,
     * ambient so that they survive exec and end with CRIU. The restored tree gets its own
     * credentials from the images, which for an ordinary user's job hold no capability.
     *
     * <p>The files are opened by whoever CRIU runs as: for a job's owner, by a second lifeboat-with-fds
     * after setpriv, so that the owner's permissions decide what is opened (their ambient capabilities
     * bypass none), and root's run opens only the image directory. An owner's link or directory could
     * otherwise lead root to open, or make, what the owner may not. When root runs CRIU for a job of
     * a user's (see {@link #restoredBy}), lifeboat-with-fds still opens the files as that user (--as).
     *
     * @param outermost the command the whole run starts under, as root ({@link #ORDINARY_OOM_SCORE}), or none
     * @param connections lifeboat-with-fds specifications of connections root makes for CRIU, in the node's namespace
     * @param descriptors lifeboat-with-fds specifications of files CRIU is handed open
     * @param owner whom CRIU runs as; empty for root
     * @param filesOwner whose files the descriptors are, opened with their permissions; empty for root's
     */
    private void run(List<String> outermost, List<String> connections, List<String> descriptors, List<String> arguments,
                     Optional<Path> networkNamespace, Optional<JobOwner> owner, Optional<JobOwner> filesOwner,
                     Path imageDirectory, String logName, Duration timeout, String what) throws CriuException {
        List<String> asRoot = new ArrayList<>();
        if (owner.isPresent()) {
            asRoot.add(IMAGES_FD + ":d:" + imageDirectory);
        } else if (!descriptors.isEmpty()) {
            filesOwner.ifPresent(user -> asRoot.add("--as=" + user.uid() + ":" + user.gid()));
            asRoot.addAll(descriptors);
        }
        asRoot.addAll(connections);
        List<String> identity = new ArrayList<>();
        List<String> withOwner = new ArrayList<>(arguments);
        if (owner.isPresent()) {
            identity.addAll(asOwner(owner.get(), networkNamespace.isPresent()));
            identity.addAll(withFds(descriptors));
            withOwner.add("--unprivileged");
        }
        List<String> prefix = new ArrayList<>(outermost);
        prefix.addAll(withFds(asRoot));
        run(prefix, identity, withOwner, networkNamespace, imageDirectory.resolve(logName), timeout, what);
    }

    /**
     * Who runs the restore: the job's owner, except for a container with its own IPC namespace (an
     * Apptainer instance). CRIU writes that namespace's sysctls (kernel/sem, kernel/msgmax, ...),
     * and the kernel lets only uid 0 write them, whatever the capabilities (measured: "Can't open
     * sysctl kernel/sem: Permission denied" as the owner, even with CAP_DAC_OVERRIDE; proc_sys's
     * test_perm checks the euid alone). Root restores those, from images no user can reach (the
     * agent moves such a job of a user's diskless only); the restored tree still gets the owner's
     * credentials, and no capability, from the images. Root also restores every post-copy job, from
     * images its peer received the same way: CRIU 4.2 gives up userfaultfd, and so lazy pages, for
     * any --unprivileged run ("ignore uffd for non-root for now", kerndat.c), so a post-copy restore
     * and its lazy-pages daemon cannot run as the owner.
     */
    private static Optional<JobOwner> restoredBy(RestoreSpec spec) throws CriuException {
        if (spec.lazyPages()) {
            return Optional.empty();
        }
        return spec.owner().isPresent() && ownIpcNamespace(spec.imageDirectory()) ? Optional.empty() : spec.owner();
    }

    /** Whether the dump holds an IPC namespace of the container's own: CRIU then saved its variables. */
    private static boolean ownIpcNamespace(Path imageDirectory) throws CriuException {
        try (var images = Files.list(imageDirectory)) {
            return images.anyMatch(image -> image.getFileName().toString().startsWith("ipcns-var-"));
        } catch (IOException e) {
            throw new CriuException("cannot list the images in " + imageDirectory + ": " + e.getMessage(), e);
        }
    }

    /** lifeboat-with-fds with these specifications, ready to run a command; nothing when there are none. */
    private List<String> withFds(List<String> specifications) throws CriuException {
        if (specifications.isEmpty()) {
            return List.of();
        }
        List<String> prefix = new ArrayList<>();
        prefix.add(withFds.orElseThrow(() -> new CriuException("handing CRIU open files needs lifeboat-with-fds")).toString());
        prefix.addAll(specifications);
        prefix.add("--");
        return prefix;
    }

    private static List<String> asOwner(JobOwner owner, boolean ownNetwork) {
        List<String> capabilities = new ArrayList<>(OWNER_CAPABILITIES);
        if (ownNetwork) {
            capabilities.add(NETWORK_CAPABILITY);
        }
        String kept = "-all," + capabilities.stream().map(capability -> "+" + capability).collect(Collectors.joining(","));
        return List.of("setpriv", "--reuid=" + owner.uid(), "--regid=" + owner.gid(), "--init-groups",
                "--inh-caps=" + kept, "--ambient-caps=" + kept, "--");
    }

    private void run(List<String> prefix, List<String> arguments, Optional<Path> networkNamespace, Path log, Duration timeout,
                     String what) throws CriuException {
        run(prefix, List.of(), arguments, networkNamespace, log, timeout, what);
    }

    private void run(List<String> prefix, List<String> identity, List<String> arguments, Optional<Path> networkNamespace,
                     Path log, Duration timeout, String what) throws CriuException {
        List<String> command = new ArrayList<>(prefix);
        networkNamespace.ifPresent(namespace -> command.addAll(List.of("nsenter", "--net=" + namespace, "--")));
        command.addAll(identity);
        command.add(binary);
        command.addAll(arguments);
        command.addAll(List.of("--log-file", log.getFileName().toString(), "-v4"));
        long started = System.nanoTime();
        CommandResult result;
        try {
            result = commands.run(command, timeout);
        } catch (CommandException e) {
            throw new CriuException("CRIU " + what + " did not complete: " + e.getMessage() + quoteErrors(log), e);
        }
        if (!result.succeeded()) {
            throw new CriuException("CRIU " + what + " failed with exit code " + result.exitCode() + quoteErrors(log));
        }
        LOG.fine(() -> "CRIU " + what + " took " + (System.nanoTime() - started) / 1_000_000 + " ms");
    }

    /** The log's error lines (and its last lines, which say where CRIU stopped), indented for the message. */
    static String quoteErrors(Path log) {
        List<String> lines;
        try {
            lines = Files.readAllLines(log);
        } catch (IOException e) {
            return " (no log at " + log + ")";
        }
        List<String> quoted = new ArrayList<>();
        for (String line : lines) {
            if ((line.contains("Error") || line.contains("BUG")) && !line.contains("RLIMIT_NOFILE")) {
                quoted.add(line.strip());
            }
        }
        if (quoted.size() > QUOTED_ERROR_LINES) {
            quoted = quoted.subList(quoted.size() - QUOTED_ERROR_LINES, quoted.size());
        }
        for (String line : lines.subList(Math.max(0, lines.size() - 3), lines.size())) {
            if (!line.isBlank() && !quoted.contains(line.strip())) {
                quoted.add(line.strip());
            }
        }
        return quoted.isEmpty() ? " (" + log + " is empty)" : "; from " + log + ":\n  | " + String.join("\n  | ", quoted);
    }

    /**
     * What to dump.
     *
     * @param externalMounts the container's bind mounts of host paths: target inside the container to key
     * @param pageServer where the target's page server (or the relay to it) listens; empty: pages into local files
     * @param actionScript CRIU's action script, which decides at post-dump whether the tree dies or resumes
     * @param networkNamespace the job's own network namespace, if it has one
     * @param owner the job's owner, whom CRIU runs as; empty for root's jobs
     */
    public record DumpSpec(long initPid, Path imageDirectory, Map<String, String> externalMounts,
                           Optional<InetSocketAddress> pageServer, Path actionScript, Optional<Path> networkNamespace,
                           Duration timeout, boolean detectExternalMounts, List<String> externalFiles,
                           Optional<JobOwner> owner, boolean lazyPages) {
        public DumpSpec {
            // In the manifest's order, so CRIU's command line reads like the manifest.
            externalMounts = Collections.unmodifiableMap(new LinkedHashMap<>(externalMounts));
            externalFiles = List.copyOf(externalFiles);
            if (lazyPages && pageServer.isEmpty()) {
                throw new IllegalArgumentException("a post-copy dump serves its pages through a relay: name its port");
            }
        }

        /** Memory sent during the dump (to {@code pageServer}) or written to the image directory. */
        public DumpSpec(long initPid, Path imageDirectory, Map<String, String> externalMounts,
                        Optional<InetSocketAddress> pageServer, Path actionScript, Optional<Path> networkNamespace,
                        Duration timeout, boolean detectExternalMounts, List<String> externalFiles,
                        Optional<JobOwner> owner) {
            this(initPid, imageDirectory, externalMounts, pageServer, actionScript, networkNamespace, timeout,
                    detectExternalMounts, externalFiles, owner, false);
        }

        /** A lifeboat-run container: every mount listed, no outside file. */
        public DumpSpec(long initPid, Path imageDirectory, Map<String, String> externalMounts,
                        Optional<InetSocketAddress> pageServer, Path actionScript, Optional<Path> networkNamespace,
                        Duration timeout) {
            this(initPid, imageDirectory, externalMounts, pageServer, actionScript, networkNamespace, timeout, false, List.of(),
                    Optional.empty(), false);
        }
    }

    /**
     * What to restore.
     *
     * @param externalMounts key to this node's host path, for every bind mount the dump named
     * @param networkNamespace the job's network namespace, already rebuilt on this node, if it has one
     * @param owner the job's owner, whom CRIU runs as; empty for root's jobs
     * @param releasePagesAsRestored whether CRIU frees each page of the images once it is in the restored memory:
     *        for images that are a copy, with the job still held elsewhere; never for a job's only checkpoint
     */
    public record RestoreSpec(Path imageDirectory, Path root, Map<String, String> externalMounts,
                              Optional<Path> networkNamespace, Duration timeout, boolean detectExternalMounts,
                              List<InheritedFile> inheritedFiles, boolean releasePagesAsRestored, Optional<JobOwner> owner,
                              boolean lazyPages) {
        public RestoreSpec {
            externalMounts = Collections.unmodifiableMap(new LinkedHashMap<>(externalMounts));
            inheritedFiles = List.copyOf(inheritedFiles);
        }

        /** Every page from the images. */
        public RestoreSpec(Path imageDirectory, Path root, Map<String, String> externalMounts,
                           Optional<Path> networkNamespace, Duration timeout, boolean detectExternalMounts,
                           List<InheritedFile> inheritedFiles, boolean releasePagesAsRestored, Optional<JobOwner> owner) {
            this(imageDirectory, root, externalMounts, networkNamespace, timeout, detectExternalMounts, inheritedFiles,
                    releasePagesAsRestored, owner, false);
        }

        /** A lifeboat-run container: every mount listed, no outside file. */
        public RestoreSpec(Path imageDirectory, Path root, Map<String, String> externalMounts, Optional<Path> networkNamespace,
                           Duration timeout) {
            this(imageDirectory, root, externalMounts, networkNamespace, timeout, false, List.of(), false, Optional.empty(), false);
        }
    }

    /** A file the dump named {@code key}, handed to the restore opened on this node's {@code path} (mode r or a). */
    public record InheritedFile(String key, String path, String mode) {}
}
