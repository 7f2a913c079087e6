package org.lifeboat.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetAddress;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

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
                () -> new AgentConfig("n1", null, null, "agent.sock", null, null)).key());
        assertEquals("slurm-user", assertThrows(InvalidConfigValueException.class,
                () -> new AgentConfig("n1", null, null, null, "slurm user", null)).key());
    }

    @Test
    void httpListensOnLoopbackPort9464ByDefault() {
        HttpConfig http = AgentConfig.defaults().http();

        assertEquals("127.0.0.1", http.address());
        assertEquals(9464, http.port());
    }

    @Test
    void rejectsANodeNameWithCharactersOutsideTheSafeAlphabet() {
        InvalidConfigValueException error = assertThrows(InvalidConfigValueException.class,
                () -> new AgentConfig("node 1", null, null, null, null, null));

        assertEquals("node-name", error.key());
    }

    @Test
    void rejectsAnEmptyNodeName() {
        InvalidConfigValueException error = assertThrows(InvalidConfigValueException.class,
                () -> new AgentConfig("", null, null, null, null, null));

        assertEquals("node-name", error.key());
    }

    @Test
    void rejectsRelativeDirectories() {
        InvalidConfigValueException state = assertThrows(InvalidConfigValueException.class,
                () -> new AgentConfig("n1", "var/lib/lifeboat", null, null, null, null));
        InvalidConfigValueException checkpoints = assertThrows(InvalidConfigValueException.class,
                () -> new AgentConfig("n1", null, "checkpoints", null, null, null));

        assertEquals("state-directory", state.key());
        assertEquals("checkpoint-directory", checkpoints.key());
    }

    @Test
    void acceptsTheWholePortRangeIncludingZero() {
        assertEquals(0, new HttpConfig(null, 0).port());
        assertEquals(65535, new HttpConfig(null, 65535).port());
    }

    @Test
    void rejectsPortsOutsideTheTcpRange() {
        assertEquals("http.port", assertThrows(InvalidConfigValueException.class, () -> new HttpConfig(null, -1)).key());
        assertEquals("http.port", assertThrows(InvalidConfigValueException.class, () -> new HttpConfig(null, 65536)).key());
    }

    @Test
    void rejectsABlankAddress() {
        assertEquals("http.address", assertThrows(InvalidConfigValueException.class, () -> new HttpConfig(" ", null)).key());
    }
}
