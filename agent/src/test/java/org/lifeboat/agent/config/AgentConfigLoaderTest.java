package org.lifeboat.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentConfigLoaderTest {

    private final AgentConfigLoader loader = new AgentConfigLoader();

    @TempDir
    Path directory;

    @Test
    void anEmptyFileMeansAllDefaults() throws Exception {
        assertEquals(AgentConfig.defaults(), loader.load(write("")));
    }

    @Test
    void aFileWithOnlyCommentsMeansAllDefaults() throws Exception {
        assertEquals(AgentConfig.defaults(), loader.load(write("# nothing set yet\n")));
    }

    @Test
    void readsEveryKey() throws Exception {
        AgentConfig config = loader.load(write(
                "node-name: node-7\n"
                + "state-directory: /srv/lifeboat\n"
                + "checkpoint-directory: /dev/shm/lifeboat\n"
                + "socket-path: /var/run/lifeboat.sock\n"
                + "slurm-user: 64030\n"
                + "criu-path: /opt/criu/sbin/criu\n"
                + "containers-directory: /var/run/containers\n"
                + "shared-directory: /shared/lifeboat\n"
                + "transfer-mode: shared-fs\n"
                + "uplink-interface: ib0\n"
                + "peer:\n"
                + "  address: 10.0.0.7\n"
                + "  port: 19465\n"
                + "  authentication: none\n"
                + "  munge-socket: /var/run/munge/m.sock\n"
                + "  page-compression: none\n"
                + "http:\n"
                + "  address: 10.1.2.3\n"
                + "  port: 19464\n"
                + "  threads: 4\n"
                + "  request-timeout: 3s\n"
                + "evacuation:\n"
                + "  concurrency: 3\n"
                + "  drain-poll: 500ms\n"
                + "  retry-pause: 2m\n"
                + "  drain-transfer-mode: post-copy\n"
                + "  prediction-transfer-mode: diskless\n"
                + "health:\n"
                + "  interval: 5s\n"
                + "  checkpoint-min-free-bytes: 1048576\n"));

        assertEquals("node-7", config.nodeName());
        assertEquals(Path.of("/srv/lifeboat"), config.stateDirectory());
        assertEquals(Path.of("/dev/shm/lifeboat"), config.checkpointDirectory());
        assertEquals(Path.of("/var/run/lifeboat.sock"), config.socketPath());
        assertEquals("64030", config.slurmUser());
        assertEquals("/opt/criu/sbin/criu", config.criuPath());
        assertEquals(Path.of("/var/run/containers"), config.containersDirectory());
        assertEquals(java.util.Optional.of(Path.of("/shared/lifeboat")), config.sharedDirectory());
        assertEquals("shared-fs", config.transferMode());
        assertEquals("post-copy", config.drainTransferMode());
        assertEquals("diskless", config.predictionTransferMode());
        assertEquals("ib0", config.uplinkInterface());
        assertEquals(new PeerConfig("10.0.0.7", 19465, "none", "/var/run/munge/m.sock", "none"), config.peer());
        assertEquals(new HttpConfig("10.1.2.3", 19464, 4, "3s"), config.http());
        assertEquals(new EvacuationConfig(3, "500ms", "2m", "post-copy", "diskless"), config.evacuation());
        assertEquals(new HealthConfig("5s", 1048576L), config.health());
        assertEquals(Duration.ofSeconds(5), config.health().interval());
        assertEquals(1048576, config.health().checkpointMinFreeBytes());
    }

    @Test
    void keysLeftOutKeepTheirDefaults() throws Exception {
        AgentConfig config = loader.load(write("http:\n  port: 0\n"));

        assertEquals(new AgentConfig(null, null, null, null, null, null, null, null, null, null, null, null, new HttpConfig(null, 0, null, null), null, null, null, null, null), config);
    }

    @Test
    void anUnknownKeyIsNamedWithFileLineAndTheKnownKeys() throws Exception {
        Path file = write("node-name: n1\n# the next key is misspelt\nhtp:\n  port: 1\n");

        String message = assertThrows(InvalidConfigurationException.class, () -> loader.load(file)).getMessage();

        assertEquals("config " + file + ": unknown key 'htp' at line 3"
                + " (known keys: apptainer, checkpoint-directory, containers-directory, criu-path, evacuation, health, http, job-network, node-name, peer, predictor, resume-directory, shared-directory, slurm-user, socket-path, state-directory, transfer-mode, uplink-interface)", message);
    }

    @Test
    void anUnknownKeyInsideASectionIsNamedWithItsSection() throws Exception {
        Path file = write("http:\n  address: 127.0.0.1\n  prot: 9464\n");

        String message = assertThrows(InvalidConfigurationException.class, () -> loader.load(file)).getMessage();

        assertEquals("config " + file + ": unknown key 'http.prot' at line 3 (known keys: address, port, request-timeout, threads)", message);
    }

    @Test
    void aValueOfTheWrongTypeIsNamedWithFileKeyAndLine() throws Exception {
        Path file = write("node-name: n1\nhttp:\n  port: high\n");

        String message = assertThrows(InvalidConfigurationException.class, () -> loader.load(file)).getMessage();

        assertEquals("config " + file + ": key 'http.port' at line 3 must be a whole number, got 'high'", message);
    }

    @Test
    void aFractionalPortIsAWrongType() throws Exception {
        Path file = write("http:\n  port: 9464.5\n");

        String message = assertThrows(InvalidConfigurationException.class, () -> loader.load(file)).getMessage();

        assertTrue(message.startsWith("config " + file + ": key 'http.port' at line 2 must be a whole number"), message);
    }

    @Test
    void aScalarWhereASectionBelongsIsAWrongType() throws Exception {
        Path file = write("http: 9464\n");

        String message = assertThrows(InvalidConfigurationException.class, () -> loader.load(file)).getMessage();

        assertEquals("config " + file + ": key 'http' at line 1 must be a section of 'key: value' lines", message);
    }

    @Test
    void anOutOfRangePortIsNamedWithFileKeyAndLine() throws Exception {
        Path file = write("http:\n  port: 70000\n");

        String message = assertThrows(InvalidConfigurationException.class, () -> loader.load(file)).getMessage();

        assertEquals("config " + file + ": key 'http.port' at line 2 must be between 0 and 65535, got 70000", message);
    }

    @Test
    void aRelativeDirectoryIsRejected() throws Exception {
        Path file = write("node-name: n1\nstate-directory: lifeboat/state\n");

        String message = assertThrows(InvalidConfigurationException.class, () -> loader.load(file)).getMessage();

        assertEquals("config " + file
                + ": key 'state-directory' at line 2 must be an absolute path, got 'lifeboat/state'", message);
    }

    @Test
    void aKeyGivenTwiceIsRejected() throws Exception {
        Path file = write("node-name: n1\nnode-name: n2\n");

        String message = assertThrows(InvalidConfigurationException.class, () -> loader.load(file)).getMessage();

        assertTrue(message.startsWith("config " + file + ": not valid YAML at line 2: "), message);
        assertTrue(message.contains("'node-name'"), message);
    }

    @Test
    void brokenYamlIsReportedOnOneLine() throws Exception {
        Path file = write("node-name: n1\n  http: x\n");

        String message = assertThrows(InvalidConfigurationException.class, () -> loader.load(file)).getMessage();

        assertTrue(message.startsWith("config " + file + ": not valid YAML at line 2: "), message);
        assertEquals(1, message.lines().count(), message);
    }

    @Test
    void aFileThatIsNotASectionIsRejected() throws Exception {
        Path file = write("just some text\n");

        String message = assertThrows(InvalidConfigurationException.class, () -> loader.load(file)).getMessage();

        assertEquals("config " + file + ": expected a section of 'key: value' lines at line 1", message);
    }

    @Test
    void aMissingFileIsNamed() {
        Path file = directory.resolve("absent.yaml");

        String message = assertThrows(InvalidConfigurationException.class, () -> loader.load(file)).getMessage();

        assertEquals("config " + file + ": file does not exist", message);
    }

    @Test
    void aDurationKeyThatIsNotADurationSaysWhatItExpects() throws Exception {
        assertEquals("key 'evacuation.drain-poll' at line 2 must be a duration such as 500ms, 30s, 2m or 1h, got '1000'",
                problemWith("evacuation:\n  drain-poll: 1000\n"));
    }

    @Test
    void theRequestTimeoutIsWholeSecondsBecauseTheJdkTakesNothingFiner() throws Exception {
        assertEquals("key 'http.request-timeout' at line 2 must be a whole number of seconds such as 10s or 1m, got '1500ms'",
                problemWith("http:\n  request-timeout: 1500ms\n"));
    }

    @Test
    void anOldKeyWithItsUnitInTheNameIsReadAsADurationWithAWarningSayingWhatToWrite() throws Exception {
        Path file = write("http:\n  request-timeout-seconds: 3\nevacuation:\n  drain-poll-millis: 1500\n  retry-pause-seconds: 90\n");
        List<String> warnings = new ArrayList<>();

        AgentConfig config = loader.load(file, warnings::add);

        assertEquals(Duration.ofMillis(1500), config.evacuation().drainPollInterval());
        assertEquals(Duration.ofSeconds(90), config.evacuation().retryPause());
        assertEquals(Duration.ofSeconds(3), config.http().requestTimeout());
        assertEquals(List.of(
                "config " + file + ": key 'evacuation.drain-poll-millis' at line 4 is deprecated and read as"
                        + " 'evacuation.drain-poll: 1s500ms': write that instead, the next release will not know evacuation.drain-poll-millis",
                "config " + file + ": key 'evacuation.retry-pause-seconds' at line 5 is deprecated and read as"
                        + " 'evacuation.retry-pause: 1m30s': write that instead, the next release will not know evacuation.retry-pause-seconds",
                "config " + file + ": key 'http.request-timeout-seconds' at line 2 is deprecated and read as"
                        + " 'http.request-timeout: 3s': write that instead, the next release will not know http.request-timeout-seconds"),
                warnings);
    }

    @Test
    void anOldMillisecondsKeyGivenADurationSaysItWantsAWholeNumberOfMilliseconds() throws Exception {
        assertEquals("key 'evacuation.drain-poll-millis' at line 2 must be a whole number of milliseconds, got '1s'",
                problemWith("evacuation:\n  drain-poll-millis: 1s\n"));
    }

    @Test
    void anOldKeysValueOutOfRangeIsNamedByTheOldKeyAndItsLine() throws Exception {
        assertEquals("key 'evacuation.drain-poll-millis' at line 3 (read as evacuation.drain-poll) must be at least 100ms, got '10ms'",
                problemWith("node-name: n1\nevacuation:\n  drain-poll-millis: 10\n"));
    }

    @Test
    void anOldAndANewNameWithTheSameValueOnlyWarn() throws Exception {
        List<String> warnings = new ArrayList<>();

        AgentConfig config = loader.load(write("evacuation:\n  drain-poll: 2s\n  drain-poll-millis: 2000\n"), warnings::add);

        assertEquals(Duration.ofSeconds(2), config.evacuation().drainPollInterval());
        assertEquals(1, warnings.size(), warnings::toString);
    }

    @Test
    void anOldAndANewNameWithDifferentValuesAreAnError() throws Exception {
        assertEquals("key 'evacuation.drain-poll-millis' at line 3 is the old name of evacuation.drain-poll, which is set too,"
                + " to another value (2s): keep evacuation.drain-poll only",
                problemWith("evacuation:\n  drain-poll: 2s\n  drain-poll-millis: 500\n"));
    }

    @Test
    void thePlannersConcurrencyIsReadAsTheEvacuationsWithAWarning() throws Exception {
        Path file = write("predictor:\n  planning:\n    max-concurrent-migrations: 4\n");
        List<String> warnings = new ArrayList<>();

        AgentConfig config = loader.load(file, warnings::add);

        assertEquals(4, config.evacuation().concurrency());
        assertEquals(List.of("config " + file + ": key 'predictor.planning.max-concurrent-migrations' at line 3 is deprecated"
                + " and read as 'evacuation.concurrency: 4': write that instead, the next release will not know"
                + " predictor.planning.max-concurrent-migrations"), warnings);
    }

    @Test
    void thePlannersAndTheEvacuationsConcurrencyMustAgree() throws Exception {
        assertEquals("key 'predictor.planning.max-concurrent-migrations' at line 5 is the old name of evacuation.concurrency,"
                + " which is set too, to another value (2): keep evacuation.concurrency only",
                problemWith("evacuation:\n  concurrency: 2\npredictor:\n  planning:\n    max-concurrent-migrations: 4\n"));
        assertEquals(3, loader.load(write("evacuation:\n  concurrency: 3\npredictor:\n  planning:\n    max-concurrent-migrations: 3\n"),
                warning -> { }).evacuation().concurrency());
    }

    @Test
    void wrongTypesSayWhatTheKeyTakes() throws Exception {
        assertEquals("key 'predictor.planning.link-bytes-per-second' at line 3 must be a whole number, got '1GB'",
                problemWith("predictor:\n  planning:\n    link-bytes-per-second: 1GB\n"));
        assertEquals("key 'predictor.edac.enabled' at line 3 must be true or false, got 'maybe'",
                problemWith("predictor:\n  edac:\n    enabled: maybe\n"));
        assertEquals("key 'predictor.accepted-nodes' at line 2 must be a list such as [a, b]",
                problemWith("predictor:\n  accepted-nodes: node1\n"));
    }

    @Test
    void anUplinkInterfaceTheNodeDoesNotHaveIsAnErrorNamingTheOnesItHas() throws Exception {
        AgentConfigLoader onThisNode = new AgentConfigLoader(() -> new TreeSet<>(Set.of("lo", "ens3")));
        Path file = write("node-name: n1\nuplink-interface: eth9\n");

        String message = assertThrows(InvalidConfigurationException.class,
                () -> onThisNode.loadForThisNode(file, warning -> { })).getMessage();

        assertEquals("config " + file + ": key 'uplink-interface' at line 2: this node has no network interface eth9 (it has ens3,"
                + " lo); name the interface jobs' own addresses are reachable through", message);
        assertEquals("ens3", onThisNode.loadForThisNode(write("uplink-interface: ens3\n"), warning -> { }).uplinkInterface());
    }

    @Test
    void withoutAnUplinkInterfaceAMissingEth0IsOnlyAWarning() throws Exception {
        AgentConfigLoader onThisNode = new AgentConfigLoader(() -> new TreeSet<>(Set.of("lo", "ens3")));
        Path file = write("node-name: n1\n");
        List<String> warnings = new ArrayList<>();

        assertEquals("eth0", onThisNode.loadForThisNode(file, warnings::add).uplinkInterface());
        assertEquals(List.of("config " + file + ": uplink-interface is not set and this node has no network interface eth0"
                + " (it has ens3, lo): a job with an address of its own cannot be restored here until uplink-interface names"
                + " the interface its address is reachable through"), warnings);
    }

    @Test
    void loadingTheFileAloneDoesNotLookAtThisNodesInterfaces() throws Exception {
        AgentConfigLoader elsewhere = new AgentConfigLoader(() -> {
            throw new AssertionError("interfaces listed");
        });

        assertEquals("eth9", elsewhere.load(write("uplink-interface: eth9\n"), warning -> { }).uplinkInterface());
    }

    /** The loader's message for a file holding {@code yaml}, without its "config FILE: " prefix. */
    private String problemWith(String yaml) throws IOException {
        Path file = write(yaml);
        String message = assertThrows(InvalidConfigurationException.class, () -> loader.load(file)).getMessage();
        String prefix = "config " + file + ": ";
        assertTrue(message.startsWith(prefix), message);
        return message.substring(prefix.length());
    }

    private Path write(String yaml) throws IOException {
        return Files.writeString(directory.resolve("agent.yaml"), yaml);
    }
}
