package org.lifeboat.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
                + "  request-timeout-seconds: 3\n"
                + "health:\n"
                + "  interval-seconds: 5\n"
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
        assertEquals("ib0", config.uplinkInterface());
        assertEquals(new PeerConfig("10.0.0.7", 19465, "none", "/var/run/munge/m.sock", "none"), config.peer());
        assertEquals(new HttpConfig("10.1.2.3", 19464, 4, 3L), config.http());
        assertEquals(new HealthConfig(5L, 1048576L), config.health());
        assertEquals(Duration.ofSeconds(5), config.health().interval());
        assertEquals(1048576, config.health().checkpointMinFreeBytes());
    }

    @Test
    void keysLeftOutKeepTheirDefaults() throws Exception {
        AgentConfig config = loader.load(write("http:\n  port: 0\n"));

        assertEquals(new AgentConfig(null, null, null, null, null, null, null, null, null, null, null, new HttpConfig(null, 0, null, null), null, null, null, null, null), config);
    }

    @Test
    void anUnknownKeyIsNamedWithFileLineAndTheKnownKeys() throws Exception {
        Path file = write("node-name: n1\n# the next key is misspelt\nhtp:\n  port: 1\n");

        String message = assertThrows(InvalidConfigurationException.class, () -> loader.load(file)).getMessage();

        assertEquals("config " + file + ": unknown key 'htp' at line 3"
                + " (known keys: apptainer, checkpoint-directory, containers-directory, criu-path, evacuation, health, http, node-name, peer, predictor, resume-directory, shared-directory, slurm-user, socket-path, state-directory, transfer-mode, uplink-interface)", message);
    }

    @Test
    void anUnknownKeyInsideASectionIsNamedWithItsSection() throws Exception {
        Path file = write("http:\n  address: 127.0.0.1\n  prot: 9464\n");

        String message = assertThrows(InvalidConfigurationException.class, () -> loader.load(file)).getMessage();

        assertEquals("config " + file + ": unknown key 'http.prot' at line 3 (known keys: address, port, request-timeout-seconds, threads)", message);
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

    private Path write(String yaml) throws IOException {
        return Files.writeString(directory.resolve("agent.yaml"), yaml);
    }
}
