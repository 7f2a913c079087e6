package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.container.ApptainerInstances;
import org.lifeboat.agent.container.CgroupAdopter;
import org.lifeboat.agent.container.ContainerLocator;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.criu.Criu;
import org.lifeboat.agent.criu.NetworkLock;
import org.lifeboat.agent.network.JobNetworks;
import org.lifeboat.agent.peer.PageCompression;
import org.lifeboat.agent.peer.PeerClient;
import org.lifeboat.agent.peer.PeerRequestException;
import org.lifeboat.agent.peer.UnauthenticatedPeers;
import org.lifeboat.agent.process.FakeCommandRunner;
import org.lifeboat.agent.process.SystemUsers;
import org.lifeboat.agent.process.UnixSocketPeers;
import org.lifeboat.agent.registry.JobRegistry;
import org.lifeboat.agent.registry.RegistryStore;
import org.lifeboat.agent.slurm.SlurmClient;

/** A node whose CRIU is unusable refuses migrations both ways, with the reason, before it touches anything. */
class MigrationGateTest {

    private static final String REASON = "`criu check` failed with CRIU 4.1.1";
    private static final MigrationGate CLOSED = () -> Optional.of(REASON);
    private static final Clock CLOCK = Clock.fixed(Instant.EPOCH, ZoneOffset.UTC);

    @TempDir
    Path directory;

    // Scripted with nothing: any command the refusals ran would fail the test.
    private final FakeCommandRunner commands = new FakeCommandRunner();
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private JobRegistry registry;

    @BeforeEach
    void createRegistry() throws Exception {
        registry = new JobRegistry(new RegistryStore(Files.createDirectories(directory.resolve("state"))), CLOCK);
    }

    @AfterEach
    void stopThreads() {
        threads.shutdownNow();
    }

    @Test
    void anOpenGateLetsMigrationsThrough() throws Exception {
        MigrationGate open = Optional::empty;

        open.requireOpenToSend(7);
        open.requireOpenToReceive("job7-a1");
    }

    @Test
    void aMigrationOfThisNodesJobIsRefusedWithTheCodeAndTheReason() throws Exception {
        MigrationService migrations = migrationService();
        registry.stepStarted(7, 1000, 1000, "batch", 0, 1);

        MigrationException refused = assertThrows(MigrationException.class,
                () -> migrations.migrate(7, "node2", TransferMode.DISKLESS));

        assertEquals(MigrationException.Reason.CRIU_UNUSABLE, refused.reason());
        assertEquals("job 7 cannot leave this node: " + REASON, refused.getMessage());
        assertEquals(List.of(), commands.commands(), "nothing was asked of Slurm or CRIU");
    }

    @Test
    void parkingIsRefusedTheSameWay() throws Exception {
        MigrationException refused = assertThrows(MigrationException.class, () -> migrationService().park(7));

        assertEquals(MigrationException.Reason.CRIU_UNUSABLE, refused.reason());
    }

    @Test
    void holdingAStayingPartInPlaceIsRefusedTheSameWayAndNothingIsAsked() throws Exception {
        MigrationService migrations = migrationService();
        registry.stepStarted(7, 1000, 1000, "0", 0, 1);

        MigrationException refused = assertThrows(MigrationException.class,
                () -> migrations.holdPartInPlace("job7-a1", 7, "node2"));

        assertEquals(MigrationException.Reason.CRIU_UNUSABLE, refused.reason());
        assertEquals(List.of(), commands.commands());
        assertFalse(migrations.livesOnAfterItsEnd(7), "a part never held is not kept past its job's end");
    }

    @Test
    void aPrepareFromAnotherNodeIsRefusedWithTheCodeAndNothingIsPrepared() throws Exception {
        TargetNode target = new TargetNode(Files.createDirectories(directory.resolve("target")), CLOSED);
        IncomingMigrations incoming = target.incoming;
        Path checkpoints = target.checkpoints;
        ObjectNode prepare = TargetNode.prepareMessage("job7-a1", 7, TransferMode.DISKLESS);

        PeerRequestException refused = assertThrows(PeerRequestException.class, () -> incoming.call("prepare", prepare));

        assertEquals(MigrationGate.CRIU_UNUSABLE, refused.code());
        assertEquals("migration job7-a1 cannot come to this node: " + REASON, refused.getMessage());
        assertEquals(0, target.table.inFlight());
        assertFalse(Files.exists(checkpoints.resolve(IncomingMigrations.INCOMING)));
        assertEquals(List.of(), target.commands.commands());
    }

    private MigrationService migrationService() throws Exception {
        Path checkpoints = Files.createDirectories(directory.resolve("checkpoints"));
        Criu criu = new Criu("criu", commands, NetworkLock.NFTABLES);
        MigrationDriver driver = new MigrationDriver("node1", checkpoints, criu, processes(), directory.resolve("post-dump.sh"),
                threads, CLOCK, report -> { });
        Destinations destinations = new Destinations("node1", checkpoints, Optional.empty(),
                (node, peer) -> new PeerClient(peer, "node1", node, new UnauthenticatedPeers(), Duration.ofSeconds(1),
                        PageCompression.LZ4), processes(),
                new JobNetworks(commands, threads), new SlurmHandover(new SlurmClient(commands), CLOCK), Optional.empty(), CLOCK);
        Path proc = directory.resolve("proc");
        ContainerLocator locator = new ContainerLocator(directory.resolve("containers"), proc);
        return new MigrationService("node1", registry, locator,
                new ApptainerInstances("apptainer", directory.resolve("adopt"), proc, directory.resolve("sys"), commands,
                        new SystemUsers(commands), processes()),
                new SlurmClient(commands), 9465, driver, destinations, processes(), new CgroupAdopter(proc), resumeMarkers(), Optional.empty(),
                CLOSED, threads, new WholeJobCheck(locator, processes(), proc, directory.resolve("jobs"), "node1",
                new UnixSocketPeers(new FakeCommandRunner())), kind -> { });
    }

    private ContainerProcesses processes() {
        return new ContainerProcesses(directory.resolve("proc"), commands);
    }

    private ResumeMarkers resumeMarkers() {
        return new ResumeMarkers(directory.resolve("resume"), directory.resolve("proc"));
    }
}
