package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.criu.Criu;
import org.lifeboat.agent.network.JobNetworks;
import org.lifeboat.agent.peer.PageCompression;
import org.lifeboat.agent.peer.PeerClient;
import org.lifeboat.agent.peer.UnauthenticatedPeers;
import org.lifeboat.agent.process.FakeCommandRunner;

/**
 * The source side when the target fails before anything is dumped: the report names the class of
 * the failure, the observer hears of it once, and nothing is left in flight. Migrations that get
 * further run against real CRIU on the testbed (MigrationEngineTest, MetricsDashboardTest).
 */
@Timeout(60)
class MigratorTest {

    private static final long INIT_PID = 4242;
    private static final int OWNER = 1000;

    @TempDir
    Path directory;

    private final List<MigrationReport> observed = new ArrayList<>();

    @Test
    void aTargetThatRefusesConnectionsRollsBackAsUnreachable() throws Exception {
        int closedPort = freePort();
        Migrator migrator = migrator(Duration.ofSeconds(5));

        MigrationReport report = migrator.migrate(7, container(), "node2", new InetSocketAddress("127.0.0.1", closedPort),
                TransferMode.DISKLESS);

        assertEquals(MigrationReport.ROLLED_BACK, report.outcome());
        assertEquals("target-unreachable", report.reason());
        assertTrue(report.cause().startsWith("cannot connect to the agent at 127.0.0.1:" + closedPort), report.cause());
        assertEquals(List.of("prepare-target", "rollback"), List.copyOf(report.phaseMillis().keySet()));
        assertEquals(OWNER, report.uid());
        assertNull(report.criuDump(), "nothing was dumped");
        assertEquals(List.of(report), observed);
        assertEquals(0, migrator.inFlight());
    }

    @Test
    void aTargetThatNeverRepliesRollsBackAsATimeout() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Migrator migrator = migrator(Duration.ofSeconds(1));
            Thread accepting = new Thread(() -> {
                try (Socket connection = silent.accept()) {
                    Thread.sleep(5_000);
                } catch (IOException | InterruptedException e) {
                    // The test is over.
                }
            });
            accepting.setDaemon(true);
            accepting.start();

            MigrationReport report = migrator.migrate(7, container(), "node2",
                    new InetSocketAddress("127.0.0.1", silent.getLocalPort()), TransferMode.DISKLESS);

            assertEquals(MigrationReport.ROLLED_BACK, report.outcome());
            assertEquals("timeout", report.reason(), report.cause());
            assertEquals(List.of(report), observed);
        }
    }

    @Test
    void aFailingObserverDoesNotChangeTheOutcome() throws Exception {
        Migrator migrator = migrator(Duration.ofSeconds(5), report -> {
            throw new IllegalStateException("metrics broke");
        });

        MigrationReport report = migrator.migrate(7, container(), "node2", new InetSocketAddress("127.0.0.1", freePort()),
                TransferMode.DISKLESS);

        assertEquals(MigrationReport.ROLLED_BACK, report.outcome());
        assertEquals(0, migrator.inFlight());
    }

    private Migrator migrator(Duration peerTimeout) throws IOException {
        return migrator(peerTimeout, observed::add);
    }

    private Migrator migrator(Duration peerTimeout, MigrationObserver observer) throws IOException {
        Path checkpoints = Files.createDirectories(directory.resolve("checkpoints"));
        return new Migrator("node1", checkpoints, Optional.empty(),
                new Criu("/opt/criu", new FakeCommandRunner()), processes(),
                (node, peer) -> new PeerClient(peer, "node1", node, new UnauthenticatedPeers(), peerTimeout, PageCompression.LZ4),
                new JobNetworks(new FakeCommandRunner()),
                PostDumpHook.install(Files.createDirectories(directory.resolve("state")), Migrator.outgoingDirectory(checkpoints)),
                NEVER_REQUEUED, Clock.fixed(Instant.EPOCH, ZoneOffset.UTC), observer);
    }

    /** These migrations fail long before the requeue: Slurm must never hear of them. */
    private static final JobHandover NEVER_REQUEUED = new JobHandover() {
        @Override
        public void requeue(long jobId) {
            throw new AssertionError("job " + jobId + " requeued by a migration that never reached its target");
        }

        @Override
        public void place(long jobId, String sourceNode, String targetNode, long downtimeMillis) {
            throw new AssertionError("job " + jobId + " placed by a migration that never reached its target");
        }
    };

    /** A /proc with the container's init alone in its PID namespace, holding 1 MiB. */
    private ContainerProcesses processes() throws IOException {
        Path proc = directory.resolve("proc");
        Path init = Files.createDirectories(proc.resolve(Long.toString(INIT_PID)).resolve("ns"));
        Files.createSymbolicLink(init.resolve("pid"), Path.of("pid:[4026532000]"));
        Files.writeString(init.resolveSibling("status"), "Name:\tlifeboat-init\nRssAnon:\t1024 kB\nRssShmem:\t0 kB\n");
        return new ContainerProcesses(proc, new FakeCommandRunner());
    }

    private static ContainerManifest container() {
        return new ContainerManifest(ContainerManifest.SUPPORTED_VERSION, INIT_PID, OWNER, OWNER, "/run/lifeboat/containers/c1/root",
                null, List.of(), List.of(), "/home/user", "/home/user/out", "/home/user/err", "/home/user/.status",
                List.of("/bin/sleep", "600"));
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
