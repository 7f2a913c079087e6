package org.lifeboat.agent.migration;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.lifeboat.agent.container.ContainerLocator;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.UnixSocketPeers;
import org.lifeboat.agent.registry.JobRecord;
import org.lifeboat.agent.registry.StepRecord;

/**
 * Whether a job can move whole from this node: a move takes one container and requeues the job,
 * which ends every other process of it here, so a job with work anywhere else is left alone
 * rather than cut in pieces. Movable: the job runs on this node alone, and every task of its
 * registered steps is in the one container that moves: the task's lifeboat-run built it or started
 * the task in it (the tasks of a job on a node share one container), with nothing else below
 * that lifeboat-run, or the task is the container itself. The batch step may also run its script around that (a shell and its srun commands):
 * the requeue runs the script again on the target, where lifeboat-run waits for the restored
 * container instead of starting the workload. The extern step holds no work of the job.
 */
public final class WholeJobCheck {

    /** Slurm's step that holds no task of the job's (PrologFlags=contain). */
    static final String EXTERN_STEP = "extern";
    static final String BATCH_STEP = "batch";
    /** What a batch script may run besides the container: it leaves no state a requeue would lose. */
    private static final Set<String> SCRIPT_COMMANDS = Set.of("srun", "bash", "sh", "dash", "zsh", "ksh", "tcsh", "csh");
    private static final int MAX_PROCESSES_VISITED = 10_000;
    private static final String LAUNCHER = "lifeboat-run";
    private static final String SLURM_STEP_DAEMON = "slurmstepd";
    // /proc/net/tcp's states (include/net/tcp_states.h, in hex): what CRIU saves without TCP repair.
    private static final String TCP_LISTEN = "0A";
    private static final String TCP_CLOSE = "07";

    /** Why a job cannot move whole, one kind per rule (the metric's label). */
    public enum Kind {
        SEVERAL_NODES("several-nodes"),
        SEVERAL_CONTAINERS("several-containers"),
        OUTSIDE_CONTAINER("outside-container"),
        NODE_NETWORK_CONNECTIONS("node-network-connections"),
        OUTSIDE_CONNECTIONS("outside-connections"),
        NODE_SHARED_MEMORY("node-shared-memory");

        private final String label;

        Kind(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** A job that cannot move whole: the rule it breaks and, in words, where. */
    public record Refusal(Kind kind, String reason) {}

    private static final Duration TASK_START_WAIT = Duration.ofSeconds(10);

    private final ContainerLocator locator;
    private final ContainerProcesses processes;
    private final Path proc;
    private final Path jobsDirectory;
    private final String nodeName;
    private final UnixSocketPeers socketPeers;

    /**
     * @param jobsDirectory where lifeboat-run keeps each job's record, {@code /run/lifeboat/jobs}
     * @param nodeName this node's Slurm name, which lifeboat-run puts in a job's record name (SLURMD_NODENAME)
     */
    public WholeJobCheck(ContainerLocator locator, ContainerProcesses processes, Path proc, Path jobsDirectory, String nodeName,
                         UnixSocketPeers socketPeers) {
        this.locator = Objects.requireNonNull(locator, "locator");
        this.processes = Objects.requireNonNull(processes, "processes");
        this.proc = Objects.requireNonNull(proc, "proc");
        this.jobsDirectory = Objects.requireNonNull(jobsDirectory, "jobsDirectory");
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
        this.socketPeers = Objects.requireNonNull(socketPeers, "socketPeers");
    }

    /** Held while a job moves: no task of it starts in its container meanwhile. */
    public interface TaskStartHold extends AutoCloseable {
        @Override
        void close() throws IOException;
    }

    /**
     * Takes the lock every lifeboat-run of the job takes to start a task in the job's container
     * (its record JOB-UID-NODE, launcher/README.md): a task starting during the dump would have its
     * parent outside the container for a moment, and be missed. Held until the dumped tree is
     * killed or resumed. A job with no record (no container shared yet) has nothing to hold.
     */
    public TaskStartHold holdTaskStarts(long jobId, int uid) throws IOException {
        Path record = jobsDirectory.resolve(jobId + "-" + uid + "-" + nodeName);
        FileChannel channel;
        try {
            channel = FileChannel.open(record, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException noRecord) {
            return () -> { };
        }
        long deadline = System.nanoTime() + TASK_START_WAIT.toNanos();
        try {
            FileLock lock;
            while ((lock = channel.tryLock()) == null) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("a task of job " + jobId + " has been starting for " + TASK_START_WAIT.toSeconds()
                            + " s (" + record + " stays locked)");
                }
                Thread.sleep(20);
            }
            FileLock held = lock;
            return () -> {
                held.release();
                channel.close();
            };
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        } catch (InterruptedException e) {
            channel.close();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for a task of job " + jobId + " to start", e);
        }
    }

    /**
     * @param nodeCount how many nodes Slurm gave the job
     * @param nodeList those nodes, as Slurm writes them
     * @param container the container a move would take
     * @return empty when the job can move whole
     */
    public Optional<Refusal> whyNotWhole(JobRecord job, int nodeCount, String nodeList, ContainerManifest container)
            throws IOException {
        if (nodeCount > 1) {
            Optional<Refusal> refusal = whyThisPartCannotMoveAlone(job, nodeCount, nodeList, container);
            if (refusal.isPresent()) {
                return refusal;
            }
        }
        for (StepRecord step : new TreeMap<>(job.steps()).values()) {
            if (step.step().equals(EXTERN_STEP)) {
                continue;
            }
            for (Map.Entry<Integer, Long> task : step.taskPids().entrySet()) {
                Optional<Refusal> refusal = checkTask(job, step.step(), task.getKey(), task.getValue(), container);
                if (refusal.isPresent()) {
                    return refusal;
                }
            }
        }
        return connections(job, container);
    }

    /**
     * A job on several nodes moves one node's part at a time (the others are checkpointed in place
     * around the requeue, see {@link MigrationService}): the part must have an address of its own,
     * which the other parts' connections follow, and must not be the batch step's, since Slurm
     * runs the requeued batch script on the job's first node, which may then be another.
     */
    private Optional<Refusal> whyThisPartCannotMoveAlone(JobRecord job, int nodeCount, String nodeList, ContainerManifest container)
            throws IOException {
        String where = "job " + job.job() + " runs on " + nodeCount + " nodes (" + nodeList + "): ";
        if (container.networkNamespace() == null) {
            return Optional.of(new Refusal(Kind.SEVERAL_NODES, where + "a node's part moves alone only with an address of its"
                    + " own, which its ranks' connections follow (sbatch --migratable=net, lifeboat-run --network=job)"));
        }
        StepRecord batch = job.steps().get(BATCH_STEP);
        if (batch != null) {
            for (long task : batch.taskPids().values()) {
                if (locator.find(List.of(task), job.job(), job.uid()).isPresent()) {
                    return Optional.of(new Refusal(Kind.SEVERAL_NODES, where + "its batch script runs lifeboat-run itself, and"
                            + " Slurm runs the requeued script on the job's first node, which may be another: start the work"
                            + " with srun"));
                }
            }
        }
        return Optional.empty();
    }

    /**
     * What the container is connected to that cannot come along. A process outside the container
     * at the other end of a Unix stream socket stays behind (CRIU refuses such a socket; Slurm's
     * PMI-2 hands each task one to slurmstepd). A container in the node's own network namespace
     * cannot take a TCP connection along either: CRIU saves connected TCP sockets only with TCP
     * repair, which needs the connection's namespace to move too, and refuses them otherwise
     * ("Connected TCP socket, consider using --tcp-established"); Open MPI's mpirun, for one, holds
     * such connections on the loopback. Found here, before anything freezes, with a reason the user
     * can act on. Listening sockets move (CRIU binds them again on the target).
     */
    private Optional<Refusal> connections(JobRecord job, ContainerManifest container) throws IOException {
        List<Long> members;
        try {
            members = processes.members(container.initPid());
        } catch (NoSuchFileException initEnded) {
            return Optional.empty();
        }
        Optional<Refusal> sharedMemory = sharedMemoryOfTheNode(job, container, members);
        if (sharedMemory.isPresent()) {
            return sharedMemory;
        }
        Map<Long, Long> socketOwners = new HashMap<>();
        for (long pid : members) {
            for (long inode : socketInodes(pid)) {
                socketOwners.putIfAbsent(inode, pid);
            }
        }
        if (socketOwners.isEmpty()) {
            return Optional.empty();
        }
        Optional<Refusal> unix = unixConnectionOutside(job, container, socketOwners);
        if (unix.isPresent() || container.hasOwnNetwork()) {
            return unix;
        }
        return tcpConnectionOnTheNodesNetwork(job, container, socketOwners);
    }

    /**
     * System V shared memory belongs to an IPC namespace. lifeboat-run's containers share the
     * node's (one of their own would make CRIU restore as root, see Criu#restoredBy), and CRIU
     * refuses a segment there ("SysVIPC shmem map doesn't live in IPC ns"). MPICH built on UCX
     * attaches such segments unless told otherwise ({@code UCX_TLS=^sysv}).
     */
    private Optional<Refusal> sharedMemoryOfTheNode(JobRecord job, ContainerManifest container, List<Long> members)
            throws IOException {
        Path nodeNamespace = proc.resolve("self").resolve("ns").resolve("ipc");
        Path containerNamespace = proc.resolve(Long.toString(container.initPid())).resolve("ns").resolve("ipc");
        try {
            if (!Files.readSymbolicLink(nodeNamespace).equals(Files.readSymbolicLink(containerNamespace))) {
                return Optional.empty();
            }
        } catch (NoSuchFileException ended) {
            return Optional.empty();
        }
        for (long pid : members) {
            List<String> maps;
            try {
                maps = Files.readAllLines(proc.resolve(Long.toString(pid)).resolve("maps"));
            } catch (NoSuchFileException ended) {
                continue;
            }
            // The kernel names an attached segment /SYSV followed by its key in hex.
            if (maps.stream().anyMatch(line -> line.contains(" /SYSV"))) {
                return Optional.of(new Refusal(Kind.NODE_SHARED_MEMORY, "job " + job.job() + ": process " + pid + " ("
                        + command(pid) + ") has System V shared memory attached, which lives in the node's IPC namespace"
                        + " and cannot move (MPICH over UCX uses it unless UCX_TLS=^sysv is set)"));
            }
        }
        return Optional.empty();
    }

    private Optional<Refusal> unixConnectionOutside(JobRecord job, ContainerManifest container, Map<Long, Long> socketOwners)
            throws IOException {
        Map<Long, Long> peers = new HashMap<>();
        try {
            peers.putAll(socketPeers.connected(Optional.empty()));
            if (container.hasOwnNetwork()) {
                // Sockets made inside the container's own namespace are listed there alone.
                peers.putAll(socketPeers.connected(Optional.of(proc.resolve(Long.toString(container.initPid())).resolve("ns")
                        .resolve("net"))));
            }
        } catch (CommandException e) {
            throw new IOException("cannot tell what the Unix sockets of job " + job.job() + "'s container are connected to: "
                    + e.getMessage(), e);
        }
        for (Map.Entry<Long, Long> socket : new TreeMap<>(socketOwners).entrySet()) {
            Long peer = peers.get(socket.getKey());
            if (peer == null || socketOwners.containsKey(peer)) {
                continue;
            }
            long pid = socket.getValue();
            Optional<Long> holder = holderOf(peer);
            String other = holder.isPresent() ? "process " + holder.get() + " (" + command(holder.get()) + ")" : "a socket";
            return Optional.of(new Refusal(Kind.OUTSIDE_CONNECTIONS, "job " + job.job() + ": process " + pid + " (" + command(pid)
                    + ") holds a Unix socket connected to " + other + " outside the container, which cannot move with it"
                    + slurmAdvice(holder)));
        }
        return Optional.empty();
    }

    private Optional<Refusal> tcpConnectionOnTheNodesNetwork(JobRecord job, ContainerManifest container,
                                                             Map<Long, Long> socketOwners) throws IOException {
        Path network = proc.resolve(Long.toString(container.initPid())).resolve("net");
        List<String[]> rows = new ArrayList<>();
        for (String table : List.of("tcp", "tcp6")) {
            List<String> lines;
            try {
                lines = Files.readAllLines(network.resolve(table));
            } catch (NoSuchFileException noTable) {
                continue;
            }
            for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
                String[] fields = line.trim().split("\\s+");
                if (fields.length >= 10 && !fields[3].equals(TCP_LISTEN) && !fields[3].equals(TCP_CLOSE)) {
                    rows.add(fields);
                }
            }
        }
        for (String[] row : rows) {
            Long owner = socketOwners.get(Long.parseLong(row[9]));
            if (owner == null) {
                continue;
            }
            // The other end, when it is on this node: the row whose addresses are this one's, swapped.
            Optional<Long> peer = rows.stream().filter(other -> other[1].equals(row[2]) && other[2].equals(row[1]))
                    .map(other -> Long.parseLong(other[9])).findFirst();
            Optional<Long> peerHolder = peer.isPresent() ? holderOf(peer.get()) : Optional.empty();
            String advice;
            if (peer.isPresent() && socketOwners.containsKey(peer.get())) {
                advice = ", between two of the container's processes (process " + socketOwners.get(peer.get())
                        + "): start the container with a network namespace of its own that moves with it,"
                        + " lifeboat-run --network=loopback";
            } else if (isSlurmStepDaemon(peerHolder)) {
                advice = slurmAdvice(peerHolder);
            } else {
                advice = ": the job needs a network namespace of its own (lifeboat-run --network=loopback when it talks"
                        + " only within the node)";
            }
            return Optional.of(new Refusal(Kind.NODE_NETWORK_CONNECTIONS, "job " + job.job() + ": process " + owner
                    + " (" + command(owner) + ") holds a TCP connection on the node's own network, which cannot move"
                    + " to another node" + advice));
        }
        return Optional.empty();
    }

    /** What to say when the other end is Slurm's step daemon: the task's PMI connection, gone with the requeue. */
    private String slurmAdvice(Optional<Long> peerHolder) throws IOException {
        if (!isSlurmStepDaemon(peerHolder)) {
            return "";
        }
        return ": it is the task's PMI connection to Slurm's step daemon (srun --mpi=pmi2 or --mpi=pmix), which the"
                + " requeue ends; ranks that mpirun starts inside the container move (lifeboat-run --network=loopback"
                + " -- mpirun ...)";
    }

    private boolean isSlurmStepDaemon(Optional<Long> pid) throws IOException {
        return pid.isPresent() && command(pid.get()).equals(SLURM_STEP_DAEMON);
    }

    /** The process holding the socket with this inode, anywhere on the node; only asked when a job is refused. */
    private Optional<Long> holderOf(long inode) throws IOException {
        List<Long> pids = new ArrayList<>();
        try (var entries = Files.list(proc)) {
            entries.map(entry -> entry.getFileName().toString()).filter(name -> name.chars().allMatch(Character::isDigit))
                    .forEach(name -> pids.add(Long.parseLong(name)));
        }
        for (long pid : pids) {
            try {
                if (socketInodes(pid).contains(inode)) {
                    return Optional.of(pid);
                }
            } catch (IOException unreadable) {
                // Another process's descriptors may be closed to the agent (a node's systemd, say): it only names the peer.
            }
        }
        return Optional.empty();
    }

    /** The inodes of the process's sockets, from its descriptors' links ("socket:[INODE]"). */
    private List<Long> socketInodes(long pid) throws IOException {
        List<Long> inodes = new ArrayList<>();
        try (var descriptors = Files.list(proc.resolve(Long.toString(pid)).resolve("fd"))) {
            for (Path descriptor : (Iterable<Path>) descriptors::iterator) {
                try {
                    String target = Files.readSymbolicLink(descriptor).toString();
                    if (target.startsWith("socket:[") && target.endsWith("]")) {
                        inodes.add(Long.parseLong(target.substring(8, target.length() - 1)));
                    }
                } catch (NoSuchFileException closed) {
                    // Closed while we looked.
                }
            }
        } catch (NoSuchFileException ended) {
            return List.of();
        }
        return inodes;
    }

    private Optional<Refusal> checkTask(JobRecord job, String step, int task, long pid, ContainerManifest container)
            throws IOException {
        String where = "task " + task + " of step " + step + " (pid " + pid + ")";
        if (!Files.isDirectory(proc.resolve(Long.toString(pid))) || pid == container.initPid()) {
            return Optional.empty();
        }
        Optional<ContainerLocator.LocatedContainer> found = locator.find(List.of(pid), job.job(), job.uid());
        if (found.isPresent() && found.get().manifest().initPid() != container.initPid()) {
            return Optional.of(new Refusal(Kind.SEVERAL_CONTAINERS, "job " + job.job() + ": " + where
                    + " runs a container of its own (init pid " + found.get().manifest().initPid() + ") besides the one"
                    + " with init pid " + container.initPid() + ": the tasks of a job on a node move together or not at all,"
                    + " and moving several containers at once is not built yet"));
        }
        // The task's own lifeboat-run, whether it built the container or started its task in it.
        Optional<Long> launcher = found.map(located -> pid);
        Optional<Long> stray = strayProcess(pid, step.equals(BATCH_STEP), launcher, container);
        if (stray.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new Refusal(Kind.OUTSIDE_CONTAINER, "job " + job.job() + ": " + where + " runs process "
                + stray.get() + " (" + command(stray.get()) + ") outside any container: a move would end it and lose its work"));
    }

    /**
     * A process of the task's tree that a requeue would lose. The task's launcher (the
     * lifeboat-run that built the container or started the task in it) and its watcher are
     * plumbing, and so, in the batch step, are the script itself, its subshells, shells and srun
     * commands; below them
     * only the container's init may run (its tree moves). An Apptainer instance is not below its
     * task (Apptainer's master daemonizes): there the task is lifeboat-run waiting for it.
     */
    private Optional<Long> strayProcess(long task, boolean batchScript, Optional<Long> launcher, ContainerManifest container)
            throws IOException {
        // Slurm runs the batch script as a file named slurm_script: that is its command name, and its subshells'.
        String script = batchScript ? command(task) : "";
        Deque<Long> pending = new ArrayDeque<>(List.of(task));
        int visited = 0;
        while (!pending.isEmpty() && visited++ < MAX_PROCESSES_VISITED) {
            long pid = pending.removeFirst();
            if (pid == container.initPid()) {
                continue;
            }
            String command = command(pid);
            // A launcher's watcher (launcher/README.md) is a lifeboat-run too, below it.
            boolean plumbing = launcher.isPresent() && (launcher.get() == pid || command.equals(LAUNCHER))
                    || container.apptainer() != null && command.equals(LAUNCHER)
                    || batchScript && (SCRIPT_COMMANDS.contains(command) || command.equals(script));
            if (!command.isEmpty() && !plumbing) {
                return Optional.of(pid);
            }
            pending.addAll(locator.children(pid));
        }
        return Optional.empty();
    }

    /** The process's command name; empty once it has ended. */
    private String command(long pid) throws IOException {
        try {
            return Files.readString(proc.resolve(Long.toString(pid)).resolve("comm")).strip();
        } catch (NoSuchFileException ended) {
            return "";
        }
    }
}
