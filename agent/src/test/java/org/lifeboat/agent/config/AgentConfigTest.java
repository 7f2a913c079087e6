package org.lifeboat.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.peer.PageCompression;

class AgentConfigTest {

    @Test
    void nodeNameDefaultsToTheShortHostName() throws Exception {
        String hostName = InetAddress.getLocalHost().getHostName();
        String shortHostName = hostName.split("\\.", 2)[0];

        String nodeName = AgentConfig.defaults().nodeName();

        assertEquals(shortHostName, nodeName);
        assertFalse(nodeName.contains("."));
    }

    @Test
    void apptainerIsFoundOnThePathAndItsHelpersInLibexec() {
        assertEquals("apptainer", AgentConfig.defaults().apptainer().path());
        assertEquals(Path.of("/usr/libexec/lifeboat"), AgentConfig.defaults().apptainer().helperDirectory());
    }

    @Test
    void apptainerHelpersMustBeAnAbsoluteDirectoryAndItsPathNotEmpty() {
        assertEquals("apptainer.helper-directory",
                assertThrows(InvalidConfigValueException.class, () -> new ApptainerConfig(null, "libexec/lifeboat")).key());
        assertEquals("apptainer.path", assertThrows(InvalidConfigValueException.class, () -> new ApptainerConfig(" ", null)).key());
    }

    @Test
    void stateDirectoryDefaultsToVarLibLifeboat() {
        assertEquals(Path.of("/var/lib/lifeboat"), AgentConfig.defaults().stateDirectory());
    }

    @Test
    void checkpointDirectoryDefaultsToCheckpointsUnderTheStateDirectory() {
        assertEquals(Path.of("/var/lib/lifeboat/checkpoints"), AgentConfig.defaults().checkpointDirectory());
    }

    @Test
    void socketPathDefaultsToTheRuntimeDirectory() {
        assertEquals(Path.of("/run/lifeboat/agent.sock"), AgentConfig.defaults().socketPath());
    }

    @Test
    void slurmUserDefaultsToSlurm() {
        assertEquals("slurm", AgentConfig.defaults().slurmUser());
    }

    @Test
    void rejectsARelativeSocketPathAndAMalformedUser() {
        assertEquals("socket-path", assertThrows(InvalidConfigValueException.class,
                () -> new AgentConfig("n1", null, null, "agent.sock", null, null, null, null, null, null, null, null, null, null, null, null, null, null)).key());
        assertEquals("slurm-user", assertThrows(InvalidConfigValueException.class,
                () -> new AgentConfig("n1", null, null, null, "slurm user", null, null, null, null, null, null, null, null, null, null, null, null, null)).key());
    }

    @Test
    void criuIsTakenFromUsrSbinByDefault() {
        assertEquals("/usr/sbin/criu", AgentConfig.defaults().criuPath());
    }

    @Test
    void containersAreFoundWhereLifeboatRunKeepsThemByDefault() {
        assertEquals(Path.of("/run/lifeboat/containers"), AgentConfig.defaults().containersDirectory());
    }

    @Test
    void lifeboatRunIsToldOfRestoredContainersWhereItLooksByDefault() {
        assertEquals(Path.of("/run/lifeboat/resume"), AgentConfig.defaults().resumeDirectory());
    }

    @Test
    void aDrainIsNoticedWithinASecondAndTwoJobsLeaveAtATimeByDefault() {
        EvacuationConfig evacuation = AgentConfig.defaults().evacuation();
        assertEquals(2, evacuation.concurrency());
        assertEquals(java.time.Duration.ofSeconds(1), evacuation.drainPollInterval());
        assertEquals(java.time.Duration.ofMinutes(1), evacuation.retryPause());
    }

    @Test
    void evacuationSettingsOutOfRangeNameTheirKey() {
        assertEquals("evacuation.concurrency", assertThrows(InvalidConfigValueException.class,
                () -> new EvacuationConfig(0, null, null)).key());
        assertEquals("evacuation.concurrency", assertThrows(InvalidConfigValueException.class,
                () -> new EvacuationConfig(65, null, null)).key());
        assertEquals("evacuation.drain-poll", assertThrows(InvalidConfigValueException.class,
                () -> new EvacuationConfig(null, "10ms", null)).key());
        assertEquals("evacuation.retry-pause", assertThrows(InvalidConfigValueException.class,
                () -> new EvacuationConfig(null, null, "0s")).key());
    }

    @Test
    void dependenciesAreCheckedEveryMinuteAndTheCheckpointDirectoryNeeds64MibFreeByDefault() {
        HealthConfig health = AgentConfig.defaults().health();

        assertEquals(Duration.ofMinutes(1), health.interval());
        assertEquals(64L * 1024 * 1024, health.checkpointMinFreeBytes());
    }

    @Test
    void healthSettingsOutOfRangeNameTheirKey() {
        assertEquals("health.interval", assertThrows(InvalidConfigValueException.class,
                () -> new HealthConfig("0s", null)).key());
        assertEquals("health.checkpoint-min-free-bytes", assertThrows(InvalidConfigValueException.class,
                () -> new HealthConfig(null, -1L)).key());
        assertEquals(0, new HealthConfig(null, 0L).checkpointMinFreeBytes(), "no minimum at all is allowed");
    }

    @Test
    void thereIsNoSharedDirectoryAndMigrationsAreDisklessByDefault() {
        assertEquals(java.util.Optional.empty(), AgentConfig.defaults().sharedDirectory());
        assertEquals("diskless", AgentConfig.defaults().transferMode());
    }

    @Test
    void sharedFsModeNeedsASharedDirectory() {
        assertEquals("transfer-mode", assertThrows(InvalidConfigValueException.class,
                () -> new AgentConfig("n1", null, null, null, null, null, null, null, null, "shared-fs", null, null, null, null, null, null, null, null)).key());
        assertEquals("shared-fs", new AgentConfig("n1", null, null, null, null, null, null, null, "/shared", "shared-fs", null, null, null, null, null, null, null, null)
                .transferMode());
        assertEquals("transfer-mode", assertThrows(InvalidConfigValueException.class,
                () -> new AgentConfig("n1", null, null, null, null, null, null, null, null, "rsync", null, null, null, null, null, null, null, null)).key());
    }

    @Test
    void eachTriggerTakesTheTransferModeUnlessItNamesItsOwnWhichIsChecked() {
        AgentConfig inherited = new AgentConfig("n1", null, null, null, null, null, null, null, null, "post-copy", null, null, null,
                null, null, null, null, null);
        assertEquals("post-copy", inherited.drainTransferMode());
        assertEquals("post-copy", inherited.predictionTransferMode());
        AgentConfig apart = new AgentConfig("n1", null, null, null, null, null, null, null, null, null, null, null, null, null,
                new EvacuationConfig(null, null, null, "post-copy", "diskless"), null, null, null);
        assertEquals("diskless", apart.transferMode());
        assertEquals("post-copy", apart.drainTransferMode());
        assertEquals("diskless", apart.predictionTransferMode());
        assertEquals("evacuation.drain-transfer-mode", assertThrows(InvalidConfigValueException.class,
                () -> new AgentConfig("n1", null, null, null, null, null, null, null, null, null, null, null, null, null,
                        new EvacuationConfig(null, null, null, "lazy", null), null, null, null)).key());
        assertEquals("evacuation.prediction-transfer-mode", assertThrows(InvalidConfigValueException.class,
                () -> new AgentConfig("n1", null, null, null, null, null, null, null, null, null, null, null, null, null,
                        new EvacuationConfig(null, null, null, null, "shared-fs"), null, null, null)).key(),
                "shared-fs needs a shared directory, whichever key names it");
    }

    @Test
    void jobInterfacesAreMadeOnEth0ByDefaultAndTheNameIsChecked() {
        assertEquals("eth0", AgentConfig.defaults().uplinkInterface());
        assertEquals("uplink-interface", assertThrows(InvalidConfigValueException.class,
                () -> new AgentConfig("n1", null, null, null, null, null, null, null, null, null, "eth0; reboot", null, null, null, null, null, null, null)).key());
    }

    @Test
    void peersListenOnPort9465WithMungeByDefault() {
        PeerConfig peer = AgentConfig.defaults().peer();

        assertEquals("0.0.0.0", peer.address());
        assertEquals(9465, peer.port());
        assertEquals("munge", peer.authentication());
        assertEquals(Path.of("/run/munge/munge.socket.2"), peer.mungeSocket());
        assertEquals(PageCompression.LZ4, peer.pageCompression());
    }

    @Test
    void rejectsAnUnknownPeerAuthenticationAndABadPort() {
        assertEquals("peer.authentication", assertThrows(InvalidConfigValueException.class,
                () -> new PeerConfig(null, null, "tls", null, null)).key());
        assertEquals("peer.port", assertThrows(InvalidConfigValueException.class,
                () -> new PeerConfig(null, 70000, null, null, null)).key());
        assertEquals("peer.munge-socket", assertThrows(InvalidConfigValueException.class,
                () -> new PeerConfig(null, null, null, "munge.sock", null)).key());
        assertEquals("peer.page-compression", assertThrows(InvalidConfigValueException.class,
                () -> new PeerConfig(null, null, null, null, "zstd")).key());
    }

    @Test
    void httpListensOnLoopbackPort9464ByDefault() {
        HttpConfig http = AgentConfig.defaults().http();

        assertEquals("127.0.0.1", http.address());
        assertEquals(9464, http.port());
    }

    @Test
    void httpAnswersEightRequestsAtOnceAndCutsOffARequestNotSentWithinTenSeconds() {
        HttpConfig http = AgentConfig.defaults().http();

        assertEquals(8, http.threads());
        assertEquals(Duration.ofSeconds(10), http.requestTimeout());
    }

    @Test
    void rejectsFewerThanTwoHttpThreadsAndARequestTimeoutUnderASecond() {
        assertEquals("http.threads", assertThrows(InvalidConfigValueException.class, () -> new HttpConfig(null, null, 1, null)).key());
        assertEquals("http.request-timeout",
                assertThrows(InvalidConfigValueException.class, () -> new HttpConfig(null, null, null, "0s")).key());
    }

    @Test
    void rejectsANodeNameWithCharactersOutsideTheSafeAlphabet() {
        InvalidConfigValueException error = assertThrows(InvalidConfigValueException.class,
                () -> new AgentConfig("node 1", null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null));

        assertEquals("node-name", error.key());
    }

    @Test
    void rejectsAnEmptyNodeName() {
        InvalidConfigValueException error = assertThrows(InvalidConfigValueException.class,
                () -> new AgentConfig("", null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null));

        assertEquals("node-name", error.key());
    }

    @Test
    void rejectsRelativeDirectories() {
        InvalidConfigValueException state = assertThrows(InvalidConfigValueException.class,
                () -> new AgentConfig("n1", "var/lib/lifeboat", null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null));
        InvalidConfigValueException checkpoints = assertThrows(InvalidConfigValueException.class,
                () -> new AgentConfig("n1", null, "checkpoints", null, null, null, null, null, null, null, null, null, null, null, null, null, null, null));

        assertEquals("state-directory", state.key());
        assertEquals("checkpoint-directory", checkpoints.key());
    }

    @Test
    void acceptsTheWholePortRangeIncludingZero() {
        assertEquals(0, new HttpConfig(null, 0, null, null).port());
        assertEquals(65535, new HttpConfig(null, 65535, null, null).port());
    }

    @Test
    void rejectsPortsOutsideTheTcpRange() {
        assertEquals("http.port", assertThrows(InvalidConfigValueException.class, () -> new HttpConfig(null, -1, null, null)).key());
        assertEquals("http.port", assertThrows(InvalidConfigValueException.class, () -> new HttpConfig(null, 65536, null, null)).key());
    }

    @Test
    void rejectsABlankAddress() {
        assertEquals("http.address", assertThrows(InvalidConfigValueException.class, () -> new HttpConfig(" ", null, null, null)).key());
    }
}
