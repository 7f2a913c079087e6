package org.lifeboat.agent.peer;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;

/**
 * Who opened a TCP connection over loopback, as the kernel's socket tables (/proc/net/tcp and tcp6,
 * of the agent's network namespace) tell: TCP has no SO_PEERCRED, and any local user can connect
 * to a loopback port.
 */
final class LoopbackOwners {

    private static final List<Path> TABLES = List.of(Path.of("/proc/net/tcp"), Path.of("/proc/net/tcp6"));
    // Sockets in TIME_WAIT are listed with uid 0, whoever opened them.
    private static final String TIME_WAIT = "06";
    private static final int LOCAL = 1;
    private static final int REMOTE = 2;
    private static final int STATE = 3;
    private static final int UID = 7;

    private LoopbackOwners() {}

    /** The agent's own uid. */
    static int ownUid() throws IOException {
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }

    /**
     * The uid owning the connecting end of an accepted connection, while the kernel still lists it
     * with its owner: open, or closed by its owner but still waiting for this end to close.
     */
    static OptionalInt ownerOf(Socket accepted) throws IOException {
        InetAddress client = accepted.getInetAddress();
        InetAddress server = accepted.getLocalAddress();
        // The connecting socket's entry lists its own address first; it is in tcp if it was opened
        // as IPv4, in tcp6 (as an IPv4-mapped address) if opened as IPv6.
        List<String> connectingEnd = List.of(
                endpoint(client, accepted.getPort(), false) + " " + endpoint(server, accepted.getLocalPort(), false),
                endpoint(client, accepted.getPort(), true) + " " + endpoint(server, accepted.getLocalPort(), true));
        for (Path table : TABLES) {
            if (!Files.exists(table)) {
                continue;
            }
            for (String line : Files.readAllLines(table)) {
                String[] fields = line.trim().split("\\s+");
                if (fields.length > UID && !fields[STATE].equals(TIME_WAIT)
                        && connectingEnd.contains(fields[LOCAL] + " " + fields[REMOTE])) {
                    return OptionalInt.of(Integer.parseInt(fields[UID]));
                }
            }
        }
        return OptionalInt.empty();
    }

    /** An address and port as the tables print them: 32-bit words in the machine's byte order, in hex. */
    private static String endpoint(InetAddress address, int port, boolean ipv6Table) {
        byte[] bytes = address.getAddress();
        if (ipv6Table && address instanceof Inet4Address) {
            byte[] mapped = new byte[16];
            mapped[10] = (byte) 0xff;
            mapped[11] = (byte) 0xff;
            System.arraycopy(bytes, 0, mapped, 12, 4);
            bytes = mapped;
        }
        ByteBuffer words = ByteBuffer.wrap(bytes).order(ByteOrder.nativeOrder());
        StringBuilder text = new StringBuilder();
        while (words.hasRemaining()) {
            text.append(String.format("%08X", words.getInt()));
        }
        return text.append(String.format(":%04X", port)).toString();
    }
}
