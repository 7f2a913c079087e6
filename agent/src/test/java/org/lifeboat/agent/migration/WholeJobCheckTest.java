package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.container.ContainerLocator;
import org.lifeboat.agent.container.ContainerLocatorTest;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.process.FakeCommandRunner;
import org.lifeboat.agent.process.UnixSocketPeers;
import org.lifeboat.agent.registry.JobRecord;
import org.lifeboat.agent.registry.StepRecord;

/**
 * The shapes of the report, on a fake /proc: what a move would take (one container) and
 * what its requeue would end. A job is moved only when nothing of it is left behind.
 */
class WholeJobCheckTest {

    private static final long JOB = 42;
    private static final int OWNER = 1000;
    private static final String CGROUP = "0::/system.slice/slurmstepd.scope/job_42/step_0/user/task_0\n";

    @TempDir
    Path root;

    private Path proc;
    private Path containers;
    private ContainerManifest container;
    private final FakeCommandRunner commands = new FakeCommandRunner();
    /** What ss says about the node's Unix sockets. */
    private String unixPeers = "";

    /** lifeboat-run 300 started the container whose init is 301. */
    @BeforeEach
    void oneContainer() throws IOException {
        proc = root.resolve("proc");
        containers = root.resolve("containers");
        container = launcher(300);
    }

    @Test
    void aBatchStepThatExecsLifeboatRunMovesWhole() throws IOException {
        assertEquals(Optional.empty(), check(1, step("batch", 300L)));
    }

    @Test
    void aBatchScriptAroundAnSrunStepMovesWhole() throws IOException {
        // Slurm runs the script as a file named slurm_script; a subshell keeps that name.
        command(100, "slurm_script", "101 102");
        command(101, "srun", "");
        command(102, "slurm_script", "");
        assertEquals(Optional.empty(), check(1, step("batch", 100L), step("0", 300L)));
    }

    @Test
    void twoTasksSharingTheJobsContainerMoveWhole() throws IOException {
        // Launcher 300 built the container (init 301, watcher 302); launcher 400 started its task in it (watcher 402).
        command(300, "lifeboat-run", "301 302");
        command(302, "lifeboat-run", "");
        command(400, "lifeboat-run", "402");
        command(402, "lifeboat-run", "");
        Files.createDirectories(containers.resolve("400"));
        Files.writeString(containers.resolve("400").resolve("task"),
                "init-pid=301\ninit-start=" + ContainerLocatorTest.INIT_START + "\ntask-pid=7\n");

        assertEquals(Optional.empty(), check(1, step("batch", 100L), step("0", 300L, 400L)));
    }

    @Test
    void twoTasksOnTheNodeEachWithAContainerAreLeftAlone() throws IOException {
        launcher(400);

        Optional<WholeJobCheck.Refusal> refusal = check(1, step("0", 300L, 400L));

        assertEquals(WholeJobCheck.Kind.SEVERAL_CONTAINERS, refusal.orElseThrow().kind());
        assertTrue(refusal.get().reason().contains("task 1 of step 0 (pid 400) runs a container of its own (init pid 401)"),
                refusal.get().reason());
    }

    @Test
    void aJobOnTwoNodesIsLeftAlone() throws IOException {
        Optional<WholeJobCheck.Refusal> refusal = check(2, step("batch", 300L));

        assertEquals(WholeJobCheck.Kind.SEVERAL_NODES, refusal.orElseThrow().kind());
        assertTrue(refusal.get().reason().contains("runs on 2 nodes (node[1-2])"), refusal.get().reason());
        assertTrue(refusal.get().reason().contains("--migratable=net"), refusal.get().reason());
    }

    @Test
    void aPartOfAJobOnTwoNodesWithAnAddressOfItsOwnMovesAlone() throws IOException {
        container = withOwnAddress(container);
        command(100, "slurm_script", "101");
        command(101, "srun", "");

        assertEquals(Optional.empty(), check(2, step("batch", 100L), step("0", 300L)));
    }

    @Test
    void aPartOfAJobOnTwoNodesWhoseBatchScriptRunsItsContainerStays() throws IOException {
        // The requeued script runs on the job's first node, which after the move may be another.
        container = withOwnAddress(container);

        Optional<WholeJobCheck.Refusal> refusal = check(2, step("batch", 300L));

        assertEquals(WholeJobCheck.Kind.SEVERAL_NODES, refusal.orElseThrow().kind());
        assertTrue(refusal.get().reason().contains("start the work with srun"), refusal.get().reason());
    }

    private static ContainerManifest withOwnAddress(ContainerManifest manifest) {
        return new ContainerManifest(manifest.version(), manifest.initPid(), manifest.initStart(), manifest.uid(), manifest.gid(),
                manifest.root(), "/run/netns/lifeboat-job-42-node1", manifest.skeleton(), manifest.mounts(),
                manifest.workingDirectory(), manifest.stdout(), manifest.stderr(), manifest.exitStatusFile(), manifest.argv(),
                manifest.apptainer(), manifest.job(), manifest.tasks(), "netns");
    }

    @Test
    void aTaskOutsideAnyContainerIsLeftAlone() throws IOException {
        command(500, "python3", "");

        Optional<WholeJobCheck.Refusal> refusal = check(1, step("batch", 300L), step("1", 500L));

        assertEquals(WholeJobCheck.Kind.OUTSIDE_CONTAINER, refusal.orElseThrow().kind());
        assertTrue(refusal.get().reason().contains("runs process 500 (python3) outside any container"), refusal.get().reason());
    }

    @Test
    void aBatchScriptThatComputesBesidesItsSrunIsLeftAlone() throws IOException {
        command(100, "bash", "101 102");
        command(101, "srun", "");
        command(102, "simulate", "");

        Optional<WholeJobCheck.Refusal> refusal = check(1, step("batch", 100L), step("0", 300L));

        assertEquals(WholeJobCheck.Kind.OUTSIDE_CONTAINER, refusal.orElseThrow().kind());
        assertTrue(refusal.get().reason().contains("runs process 102 (simulate)"), refusal.get().reason());
    }

    @Test
    void aProcessTheBatchScriptLeftBesideTheContainerIsLeftAlone() throws IOException {
        // `simulate & exec lifeboat-run ...`: the background process ends up below the launcher.
        command(300, "lifeboat-run", "301 302");
        command(302, "simulate", "");

        Optional<WholeJobCheck.Refusal> refusal = check(1, step("batch", 300L));

        assertEquals(WholeJobCheck.Kind.OUTSIDE_CONTAINER, refusal.orElseThrow().kind());
        assertTrue(refusal.get().reason().contains("runs process 302 (simulate) outside any container"), refusal.get().reason());
    }

    @Test
    void aContainerHoldingATcpConnectionOnTheNodesNetworkIsLeftAlone() throws IOException {
        // mpirun in the container keeps connections on the node's loopback: CRIU could not move them.
        command(302, "mpirun.openmpi", "");
        ContainerLocatorTest.process(proc, 301, 301, "302");
        tcp(302, 4242, "01");

        Optional<WholeJobCheck.Refusal> refusal = check(1, step("batch", 300L));

        assertEquals(WholeJobCheck.Kind.NODE_NETWORK_CONNECTIONS, refusal.orElseThrow().kind());
        assertTrue(refusal.get().reason().contains("process 302 (mpirun.openmpi) holds a TCP connection on the node's own"
                + " network"), refusal.get().reason());
    }

    @Test
    void aListeningSocketOnTheNodesNetworkMoves() throws IOException {
        command(302, "server", "");
        ContainerLocatorTest.process(proc, 301, 301, "302");
        tcp(302, 4242, "0A");

        assertEquals(Optional.empty(), check(1, step("batch", 300L)));
    }

    @Test
    void aTaskHoldingSlurmsPmiConnectionIsLeftAlone() throws IOException {
        // srun --mpi=pmi2 hands each task a socket to slurmstepd, which the requeue ends.
        command(302, "ring-mpich", "");
        ContainerLocatorTest.process(proc, 301, 301, "302");
        inContainersPidNamespace(302, 300);
        socket(302, 5001);
        command(900, "slurmstepd", "");
        socket(900, 5002);
        unixPeers = "u_str ESTAB 0 0 * 5001 * 5002\nu_str ESTAB 0 0 * 5002 * 5001\n";

        Optional<WholeJobCheck.Refusal> refusal = check(1, step("batch", 300L));

        assertEquals(WholeJobCheck.Kind.OUTSIDE_CONNECTIONS, refusal.orElseThrow().kind());
        assertTrue(refusal.get().reason().contains("process 302 (ring-mpich) holds a Unix socket connected to process 900"
                + " (slurmstepd) outside the container"), refusal.get().reason());
        assertTrue(refusal.get().reason().contains("PMI connection to Slurm's step daemon"), refusal.get().reason());
    }

    @Test
    void aUnixConnectionBetweenTheContainersProcessesMoves() throws IOException {
        // MPICH's hydra proxy and its ranks: both ends move.
        command(302, "hydra_pmi_proxy", "303");
        command(303, "ring-mpich", "");
        ContainerLocatorTest.process(proc, 301, 301, "302");
        inContainersPidNamespace(302, 300);
        inContainersPidNamespace(303, 300);
        socket(302, 5001);
        socket(303, 5002);
        unixPeers = "u_str ESTAB 0 0 * 5001 * 5002\nu_str ESTAB 0 0 * 5002 * 5001\n";

        assertEquals(Optional.empty(), check(1, step("batch", 300L)));
    }

    @Test
    void aTcpConnectionBetweenTheContainersProcessesOnTheNodesNetworkSaysHowToMoveIt() throws IOException {
        command(302, "mpirun.openmpi", "303");
        command(303, "ring-ompi", "");
        ContainerLocatorTest.process(proc, 301, 301, "302");
        tcp(302, 4242, "01");
        inContainersPidNamespace(303, 300);
        tcpRow(303, 4243, "0100007F:C350 0100007F:1F90");

        Optional<WholeJobCheck.Refusal> refusal = check(1, step("batch", 300L));

        assertEquals(WholeJobCheck.Kind.NODE_NETWORK_CONNECTIONS, refusal.orElseThrow().kind());
        assertTrue(refusal.get().reason().contains("between two of the container's processes (process 303)"), refusal.get().reason());
        assertTrue(refusal.get().reason().contains("lifeboat-run --network=loopback"), refusal.get().reason());
    }

    @Test
    void aTcpConnectionToSlurmsPmixServerIsLeftAloneWithTheReason() throws IOException {
        // srun --mpi=pmix: PMIx 4 clients reach slurmstepd's server over TCP on the node's loopback.
        command(302, "ring-ompi", "");
        ContainerLocatorTest.process(proc, 301, 301, "302");
        tcp(302, 4242, "01");
        command(900, "slurmstepd", "");
        tcpRow(900, 4243, "0100007F:C350 0100007F:1F90");

        Optional<WholeJobCheck.Refusal> refusal = check(1, step("batch", 300L));

        assertEquals(WholeJobCheck.Kind.NODE_NETWORK_CONNECTIONS, refusal.orElseThrow().kind());
        assertTrue(refusal.get().reason().contains("PMI connection to Slurm's step daemon"), refusal.get().reason());
    }

    @Test
    void aContainerWithALoopbackNetworkTakesItsTcpConnectionsAlong() throws IOException {
        command(302, "mpirun.openmpi", "");
        ContainerLocatorTest.process(proc, 301, 301, "302");
        tcp(302, 4242, "01");
        container = withNetwork(container, ContainerManifest.LOOPBACK_NETWORK);

        assertEquals(Optional.empty(), check(1, step("batch", 300L)));
        // The Unix sockets were looked up in the node's namespace and in the container's own.
        assertEquals(List.of("nsenter", "--net=" + proc.resolve("301/ns/net"), "--", "ss", "-x", "-a", "-n", "-H"),
                commands.commands().get(1));
    }

    @Test
    void systemVSharedMemoryInTheNodesIpcNamespaceIsLeftAlone() throws IOException {
        command(302, "ring-mpich", "");
        ContainerLocatorTest.process(proc, 301, 301, "302");
        inContainersPidNamespace(302, 300);
        ipcNamespace("self", 4026531839L);
        ipcNamespace("301", 4026531839L);
        Files.writeString(proc.resolve("302").resolve("maps"), "7f0000000000-7f0000400000 rw-s 00000000 00:01 98310"
                + "                      /SYSV00000000 (deleted)\n");

        Optional<WholeJobCheck.Refusal> refusal = check(1, step("batch", 300L));

        assertEquals(WholeJobCheck.Kind.NODE_SHARED_MEMORY, refusal.orElseThrow().kind());
        assertTrue(refusal.get().reason().contains("process 302 (ring-mpich) has System V shared memory attached"),
                refusal.get().reason());
        assertTrue(refusal.get().reason().contains("UCX_TLS=^sysv"), refusal.get().reason());
    }

    @Test
    void systemVSharedMemoryInAContainersOwnIpcNamespaceMoves() throws IOException {
        command(302, "sim", "");
        ContainerLocatorTest.process(proc, 301, 301, "302");
        inContainersPidNamespace(302, 300);
        ipcNamespace("self", 4026531839L);
        ipcNamespace("301", 4026532000L);
        Files.writeString(proc.resolve("302").resolve("maps"), "7f0000000000-7f0000400000 rw-s 00000000 00:01 98310"
                + "                      /SYSV00000000 (deleted)\n");

        assertEquals(Optional.empty(), check(1, step("batch", 300L)));
    }

    private void ipcNamespace(String process, long inode) throws IOException {
        Path namespaces = Files.createDirectories(proc.resolve(process).resolve("ns"));
        Files.createSymbolicLink(namespaces.resolve("ipc"), Path.of("ipc:[" + inode + "]"));
    }

    private static ContainerManifest withNetwork(ContainerManifest c, String network) {
        return new ContainerManifest(c.version(), c.initPid(), c.initStart(), c.uid(), c.gid(), c.root(), c.networkNamespace(),
                c.skeleton(), c.mounts(), c.workingDirectory(), c.stdout(), c.stderr(), c.exitStatusFile(), c.argv(),
                c.apptainer(), c.job(), c.tasks(), network);
    }

    /** Process pid holds the socket with this inode (another descriptor each time). */
    private void socket(long pid, long inode) throws IOException {
        Path descriptors = Files.createDirectories(proc.resolve(Long.toString(pid)).resolve("fd"));
        try (var existing = Files.list(descriptors)) {
            Files.createSymbolicLink(descriptors.resolve(Long.toString(3 + existing.count())), Path.of("socket:[" + inode + "]"));
        }
    }

    /** One more row of the node's TCP table (as the container's init sees it): "LOCAL REMOTE", established. */
    private void tcpRow(long pid, long inode, String addresses) throws IOException {
        socket(pid, inode);
        Path table = proc.resolve("301").resolve("net").resolve("tcp");
        Files.writeString(table, Files.readString(table) + "   1: " + addresses + " 01 00000000:00000000 00:00000000 00000000"
                + "  1000        0 " + inode + " 1 0000000000000000 20 4 30 10 -1\n");
    }

    /** The process is in the PID namespace of the container whose launcher is that one. */
    private void inContainersPidNamespace(long pid, long launcher) throws IOException {
        Path namespaces = Files.createDirectories(proc.resolve(Long.toString(pid)).resolve("ns"));
        Files.createSymbolicLink(namespaces.resolve("pid"), Path.of("pid:[" + (4026530000L + launcher) + "]"));
    }

    /** Process pid (in container 300) holds socket inode, a TCP socket in that state in the node's network namespace. */
    private void tcp(long pid, long inode, String state) throws IOException {
        inContainersPidNamespace(pid, 300);
        socket(pid, inode);
        Path network = Files.createDirectories(proc.resolve("301").resolve("net"));
        Files.writeString(network.resolve("tcp"), "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
                + "   uid  timeout inode\n   0: 0100007F:1F90 0100007F:C350 " + state + " 00000000:00000000 00:00000000 00000000"
                + "  1000        0 " + inode + " 1 0000000000000000 20 4 30 10 -1\n");
    }

    @Test
    void theExternStepAndEndedTasksDoNotCount() throws IOException {
        assertEquals(Optional.empty(), check(1, step("extern", 900L), step("batch", 300L), step("1", 901L)));
    }

    private Optional<WholeJobCheck.Refusal> check(int nodes, StepRecord... steps) throws IOException {
        Map<String, StepRecord> byName = new TreeMap<>();
        for (StepRecord step : steps) {
            byName.put(step.step(), step);
        }
        JobRecord job = new JobRecord(JOB, OWNER, OWNER, byName, Instant.EPOCH);
        // ss's answers: the node's namespace, then the container's own when it has one.
        commands.answer(0, unixPeers, "").answer(0, "", "");
        return new WholeJobCheck(new ContainerLocator(containers, proc),
                new ContainerProcesses(proc, new FakeCommandRunner()), proc, root.resolve("jobs"), "node1", new UnixSocketPeers(commands))
                .whyNotWhole(job, nodes, "node[1-" + nodes + "]", container);
    }

    private static StepRecord step(String name, Long... taskPids) {
        Map<Integer, Long> tasks = new TreeMap<>();
        for (int task = 0; task < taskPids.length; task++) {
            tasks.put(task, taskPids[task]);
        }
        return new StepRecord(name, 0, taskPids.length, tasks, Instant.EPOCH);
    }

    /** A lifeboat-run (pid) whose container init is pid + 1, as the locator finds them. */
    private ContainerManifest launcher(long pid) throws IOException {
        command(pid, "lifeboat-run", Long.toString(pid + 1));
        ContainerLocatorTest.init(proc, pid + 1, pid, OWNER, ContainerLocatorTest.INIT_START, CGROUP);
        inContainersPidNamespace(pid + 1, pid);
        ContainerLocatorTest.manifest(containers, pid, ContainerManifest.SUPPORTED_VERSION, OWNER);
        return new ContainerLocator(containers, proc).find(List.of(pid), JOB, OWNER).orElseThrow().manifest();
    }

    private void command(long pid, String name, String children) throws IOException {
        ContainerLocatorTest.process(proc, pid, pid, children);
        Files.writeString(proc.resolve(Long.toString(pid)).resolve("comm"), name + "\n");
    }
}
