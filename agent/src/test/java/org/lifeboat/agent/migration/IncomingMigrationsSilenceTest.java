package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A migration whose source went silent is given up after the silence limit; one that is still talking is not. */
final class IncomingMigrationsSilenceTest {

    private static final ObjectMapper JSON = AgentJson.mapper();
    private static final Duration SILENCE = IncomingMigrations.SILENCE_LIMIT;

    @TempDir
    Path directory;

    private final SettableClock clock = new SettableClock(Instant.parse("2026-12-03T10:00:00Z"));
    private final ExecutorService background = Executors.newCachedThreadPool();
    private IncomingMigrations incoming;

    @BeforeEach
    void createTarget() throws Exception {
        Path shared = Files.createDirectories(directory.resolve("shared"));
        Files.createDirectories(shared.resolve("job7-a1"));
        Files.createDirectories(shared.resolve("job8-b2"));
        FakeCommandRunner commands = new FakeCommandRunner();
        incoming = new IncomingMigrations(directory.resolve("checkpoints"), Optional.of(shared), new Criu("criu", commands, NetworkLock.NFTABLES),
                new RestoreRoot(commands), new ContainerProcesses(Files.createDirectories(directory.resolve("proc")), commands),
                new JobRegistry(new RegistryStore(Files.createDirectories(directory.resolve("state"))), clock),
                new JobNetworks(commands, background), "eth0", new ResumeMarkers(directory.resolve("resume"), directory.resolve("proc")),
                new FakeTargetScheduler(), () -> {}, clock, Optional::empty, background);
    }

    @AfterEach
    void stopBackground() {
        background.shutdownNow();
    }

    @Test
    void theSilenceLimitOutlastsTheSourcesOwnWaitForItsDecision() {
        assertTrue(SILENCE.compareTo(PostDumpHook.DECISION_LIMIT) > 0, "a source may still be deciding when its target gives up");
    }

    @Test
    void aMigrationWhoseSourceSaysNothingIsDiscardedOnlyAfterTheLimit() throws Exception {
        incoming.call("prepare", prepare("job7-a1", 7));
        clock.advance(SILENCE.minusSeconds(1));
        assertEquals(List.of(), incoming.discardSilent(SILENCE));
        assertEquals(1, incoming.inFlight());

        clock.advance(Duration.ofSeconds(2));
        assertEquals(List.of("job7-a1"), incoming.discardSilent(SILENCE));
        assertEquals(0, incoming.inFlight());
        PeerRequestException gone = assertThrows(PeerRequestException.class, () -> incoming.call("commit", migration("job7-a1", 7)));
        assertEquals("unknown-migration", gone.code());
        assertTrue(Files.isDirectory(directory.resolve("shared/job7-a1")), "the source's shared images are not the target's to delete");
    }

    @Test
    void everyRequestOfTheSourceRestartsTheSilence() throws Exception {
        incoming.call("prepare", prepare("job7-a1", 7));
        incoming.call("prepare", prepare("job8-b2", 8));
        clock.advance(SILENCE.minusMinutes(1));
        // The source of job 8 speaks (a request that fails still counts: the source is alive).
        assertThrows(PeerRequestException.class, () -> incoming.call("resume", migration("job8-b2", 8)));
        clock.advance(Duration.ofMinutes(2));

        assertEquals(List.of("job7-a1"), incoming.discardSilent(SILENCE));
        assertEquals(1, incoming.inFlight());
    }

    @Test
    void imagesThatStillGrowCountAsASourceThatIsStillTalking() throws Exception {
        incoming.call("prepare", prepare("job7-a1", 7));
        Path pages = directory.resolve("shared/job7-a1/pages-1.img");
        Files.write(pages, new byte[4096]);
        clock.advance(SILENCE.plusMinutes(1));
        assertEquals(List.of(), incoming.discardSilent(SILENCE), "the first sweep sees the images grown since the prepare");
        Files.write(pages, new byte[8192]);
        clock.advance(SILENCE.plusMinutes(1));
        assertEquals(List.of(), incoming.discardSilent(SILENCE));

        clock.advance(SILENCE.plusMinutes(1));
        assertEquals(List.of("job7-a1"), incoming.discardSilent(SILENCE), "images that stopped growing are a source gone");
    }

    private static ObjectNode migration(String id, long job) {
        ObjectNode message = JSON.createObjectNode();
        message.put("migration", id);
        message.put("job", job);
        return message;
    }

    private static ObjectNode prepare(String id, long job) {
        ObjectNode message = migration(id, job);
        message.put("uid", 1000);
        message.put("gid", 1000);
        message.put("mode", TransferMode.SHARED_FS.wireName());
        message.put("expected-bytes", 1 << 20);
        message.set("manifest", JSON.valueToTree(new ContainerManifest(ContainerManifest.SUPPORTED_VERSION, 4242, 1000, 1000,
                "/run/lifeboat/containers/c1/root", null, List.of(), List.of(), "/home/user", "/home/user/out",
                "/home/user/err", "/home/user/.status", List.of("/bin/sleep", "600"))));
        return message;
    }

    private static final class SettableClock extends Clock {
        private Instant now;

        SettableClock(Instant now) {
            this.now = now;
        }

        void advance(Duration duration) {
            now = now.plus(duration);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
