package org.lifeboat.agent.migration;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.lifeboat.agent.peer.ImageArchive;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import org.lifeboat.agent.criu.Checkpointer;
import org.lifeboat.agent.criu.CriuException;
import org.lifeboat.agent.process.CommandException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.container.RestoreRoot;
import org.lifeboat.agent.criu.Criu;
import org.lifeboat.agent.criu.NetworkLock;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.network.JobNetworks;
import org.lifeboat.agent.peer.PeerRequestException;
import org.lifeboat.agent.process.FakeCommandRunner;
import org.lifeboat.agent.registry.JobRegistry;
import org.lifeboat.agent.registry.RegistryStore;

/**
 * The target side of one node, wired as the agent wires it, on fakes: CRIU, mount and kill answer
 * from {@link #commands}, Slurm is {@link #scheduler}, /proc is {@link #proc}, time is {@link #clock},
 * and background work runs before the call that started it returns.
 */
final class TargetNode {

    static final ObjectMapper JSON = AgentJson.mapper();
    static final long PID = 5151;
    static final long START_TIME = 777;
    static final int OWNER = FakeNode.ownerUid();

    final Path directory;
    final Path checkpoints;
    final Path shared;
    final FakeCommandRunner commands = new FakeCommandRunner();
    final FakeTargetScheduler scheduler = new FakeTargetScheduler();
    final SettableClock clock = new SettableClock(Instant.parse("2026-12-03T10:00:00Z"));
    final DirectExecutorService background = new DirectExecutorService();
    final AtomicInteger tookOver = new AtomicInteger();
    final FakeProc proc;
    final JobRegistry registry;
    final ResumeMarkers resumeMarkers;
    final IncomingMigrationTable table = new IncomingMigrationTable();
    final ConfirmedCopies confirmedCopies;
    final RestoredCopies restoredCopies;
    final IncomingCleanup cleanup;
    final IncomingMigrations incoming;
    final SilenceSweep silence;
    final OrphanTakeOver takeOver;
    private final ContainerProcesses processes;
    private final JobNetworks networks;

    TargetNode(Path directory) throws IOException {
        this(directory, Optional::empty);
    }

    /** @param gate whether this node's CRIU lets migrations in */
    TargetNode(Path directory, MigrationGate gate) throws IOException {
        this.directory = directory;
        checkpoints = directory.resolve("checkpoints");
        shared = Files.createDirectories(directory.resolve("shared"));
        proc = new FakeProc(directory.resolve("proc"));
        registry = new JobRegistry(new RegistryStore(Files.createDirectories(directory.resolve("state"))), clock);
        resumeMarkers = new ResumeMarkers(directory.resolve("resume"), proc.directory());
        processes = new ContainerProcesses(proc.directory(), commands);
        networks = new JobNetworks(commands, background);
        RestoreRoot restoreRoots = new RestoreRoot(commands);
        Criu criu = new Criu("criu", commands, Optional.of(Path.of("/usr/libexec/lifeboat/lifeboat-with-fds")),
                NetworkLock.NFTABLES);
        confirmedCopies = new ConfirmedCopies(checkpoints, resumeMarkers);
        restoredCopies = new RestoredCopies(registry, resumeMarkers, processes, networks);
        cleanup = new IncomingCleanup(table, confirmedCopies, restoreRoots, processes, networks, resumeMarkers, background);
        incoming = new IncomingMigrations(table, checkpoints, Optional.of(shared), new PageServers(connectedPageServer(criu)),
                new CopyRestorer(criu, restoreRoots, networks, "eth0"), processes, restoredCopies, confirmedCopies, cleanup,
                scheduler, gate, background, clock);
        silence = new SilenceSweep(table, cleanup, clock);
        takeOver = new OrphanTakeOver(table, restoredCopies, confirmedCopies, cleanup, scheduler, tookOver::incrementAndGet,
                clock);
    }

    /** The start-up recovery, deciding within {@code requeueWait} on the calling thread. */
    TargetRecovery recovery(Duration requeueWait) {
        return new TargetRecovery(checkpoints, confirmedCopies, restoredCopies, cleanup, processes, networks, resumeMarkers,
                scheduler, new DirectExecutorService(), requeueWait, Duration.ofMillis(1));
    }

    Path images(String id) {
        return checkpoints.resolve(IncomingMigrations.INCOMING).resolve(id);
    }

    Path root(String id) {
        return checkpoints.resolve(IncomingMigrations.ROOTS).resolve(id);
    }

    Path confirmedRecord(String id) {
        return checkpoints.resolve(IncomingMigrations.CONFIRMED).resolve(id + ".json");
    }

    Path resumeMarker(long job) {
        return resumeMarkers.marker(job);
    }

    /** A diskless prepare with its page server: CRIU's answer and the pid file it would write are scripted. */
    ObjectNode prepareDiskless(String id, long job) throws Exception {
        Files.createDirectories(images(id));
        Files.writeString(images(id).resolve("page-server.pid"), "4040\n");
        commands.answer(0, "", "");
        ObjectNode message = prepareMessage(id, job, TransferMode.DISKLESS);
        message.put("page-server", true);
        return incoming.call("prepare", message);
    }

    /** A restore that CRIU carries out: the root's two mounts, CRIU, the unmount; the copy stopped in /proc. */
    ObjectNode restore(String id, long job) throws Exception {
        Files.writeString(images(id).resolve("restored.pid"), PID + "\n");
        proc.process(PID, "T", START_TIME);
        ObjectNode message = restoreMessage(id, job);
        commands.answer(0, "", "").answer(0, "", "").answer(0, "", "").answer(0, "", "");
        return incoming.call("restore", message);
    }

    /** A restore request; for a diskless migration the image tar is sent first and the request seals its digest. */
    ObjectNode restoreMessage(String id, long job) throws Exception {
        ObjectNode message = migration(id, job);
        if (table.get(id).map(migration -> migration.mode == TransferMode.DISKLESS).orElse(false)) {
            message.put("images-sha256", sendImages(id, job));
        }
        return message;
    }

    /** The source's image tar, one image file in it, spooled here; returns the tar's SHA-256. */
    String sendImages(String id, long job) throws Exception {
        Path source = Files.createDirectories(directory.resolve("source-images").resolve(id));
        Files.writeString(source.resolve("inventory.img"), "images of " + id);
        ByteArrayOutputStream tar = new ByteArrayOutputStream();
        ImageArchive.write(source, tar);
        incoming.receive("images", migration(id, job), new ByteArrayInputStream(tar.toByteArray()));
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(tar.toByteArray()));
    }

    /** A restore that CRIU fails: the root is mounted and unmounted around it. */
    void failRestore(String id, long job) throws Exception {
        ObjectNode message = restoreMessage(id, job);
        commands.answer(0, "", "").answer(0, "", "").answer(1, "", "").answer(0, "", "");
        try {
            incoming.call("restore", message);
            throw new AssertionError("the restore succeeded");
        } catch (PeerRequestException expected) {
            if (!expected.code().equals("restore-failed")) {
                throw expected;
            }
        }
    }

    ObjectNode confirm(String id, long job) throws Exception {
        return incoming.call("confirm", migration(id, job));
    }

    /** The source's resume: the copy's processes get SIGCONT. */
    ObjectNode resume(String id, long job) throws Exception {
        commands.answer(0, "", "");
        return incoming.call("resume", migration(id, job));
    }

    /** The CRIU invocations so far whose action is {@code action} ("restore", "page-server"). */
    long criuRuns(String action) {
        // CRIU runs as the job's owner, behind lifeboat-with-fds and setpriv.
        return commands.commands().stream().filter(command -> command.indexOf("criu") >= 0
                && command.indexOf("criu") + 1 < command.size() && command.get(command.indexOf("criu") + 1).equals(action)).count();
    }

    static ObjectNode migration(String id, long job) {
        ObjectNode message = JSON.createObjectNode();
        message.put("migration", id);
        message.put("job", job);
        return message;
    }

    static ObjectNode prepareMessage(String id, long job, TransferMode mode) {
        ObjectNode message = migration(id, job);
        message.put("uid", OWNER);
        message.put("gid", OWNER);
        message.put("mode", mode.wireName());
        message.put("expected-bytes", 1 << 20);
        message.put("page-server", mode == TransferMode.DISKLESS);
        message.set("manifest", JSON.valueToTree(new ContainerManifest(ContainerManifest.SUPPORTED_VERSION, 4242, 99, OWNER, OWNER,
                "/run/lifeboat/containers/c1/root", null, List.of(), List.of(), "/home/user", "/home/user/out",
                "/home/user/err", "/home/user/.status", List.of("/bin/sleep", "600"))));
        return message;
    }

    /**
     * CRIU with a page server run (and counted) through {@link #commands} like the rest, whose
     * connection to the agent is a loopback pair: no kernel CRIU or lifeboat-with-fds here.
     */
    private Checkpointer connectedPageServer(Criu criu) {
        return new Checkpointer() {
            @Override
            public void dump(Criu.DumpSpec spec) throws CriuException {
                criu.dump(spec);
            }

            @Override
            public long restore(Criu.RestoreSpec spec) throws CriuException {
                return criu.restore(spec);
            }

            @Override
            public Criu.PageServer startPageServer(Path images, Path socketDirectory, Duration timeout) throws CriuException {
                try {
                    commands.run(List.of("criu", "page-server", "--images-dir", images.toString()), timeout).requireSuccess();
                    try (ServerSocketChannel listener = ServerSocketChannel.open()) {
                        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                        SocketChannel pageServer = SocketChannel.open(listener.getLocalAddress());
                        listener.accept().close();
                        return new Criu.PageServer(1234, pageServer);
                    }
                } catch (CommandException | IOException e) {
                    throw new CriuException("page server: " + e.getMessage(), e);
                }
            }
        };
    }
}
