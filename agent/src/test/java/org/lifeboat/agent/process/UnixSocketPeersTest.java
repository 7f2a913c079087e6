package org.lifeboat.agent.process;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** ss's output as iproute2 6.1 (Debian 12) prints it, measured on the testbed. */
class UnixSocketPeersTest {

    @Test
    void connectedStreamSocketsMapToTheirPeers() throws CommandException {
        FakeCommandRunner commands = new FakeCommandRunner().answer(0, String.join("\n",
                "u_str ESTAB  0      0                                                 * 1178     * 1179",
                "u_str LISTEN 0      256    /var/lib/lifeboat-testbed/munge/munge.socket 24902446 * 0   ",
                "u_str ESTAB  0      0      /var/lib/lifeboat-testbed/munge/munge.socket 500 * 501",
                "u_seq ESTAB  0      0                                                 * 7 * 8",
                "u_dgr ESTAB  0      0                                                 * 9 * 10",
                "u_str ESTAB  0      0      /tmp/a name 11 * 12",
                ""), "");

        Map<Long, Long> peers = new UnixSocketPeers(commands).connected(Optional.of(Path.of("/proc/301/ns/net")));

        assertEquals(Map.of(1178L, 1179L, 500L, 501L, 7L, 8L), peers);
        assertEquals(List.of(List.of("nsenter", "--net=/proc/301/ns/net", "--", "ss", "-x", "-a", "-n", "-H")),
                commands.commands());
    }
}
