package org.lifeboat.agent.process;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Which Unix socket each connected stream socket of a network namespace is connected to, by
 * inode, as the kernel's socket diagnostics tell {@code ss}. /proc lists a process's sockets and
 * a namespace's Unix sockets, but not who is at the other end of a connection; that takes the
 * diagnostics, and iproute2's {@code ss} is their tool on every node.
 */
public final class UnixSocketPeers {

    private static final Duration SS_TIMEOUT = Duration.ofSeconds(15);

    private final CommandRunner commands;

    public UnixSocketPeers(CommandRunner commands) {
        this.commands = Objects.requireNonNull(commands, "commands");
    }

    /**
     * @param networkNamespace the namespace to look in (a path nsenter takes); empty for the agent's own
     * @return each connected stream or seqpacket socket's inode, to its peer's inode
     */
    public Map<Long, Long> connected(Optional<Path> networkNamespace) throws CommandException {
        List<String> command = new ArrayList<>();
        networkNamespace.ifPresent(namespace -> command.addAll(List.of("nsenter", "--net=" + namespace, "--")));
        // Unix sockets (-x), all states (-a), numbers not names (-n), no header (-H).
        command.addAll(List.of("ss", "-x", "-a", "-n", "-H"));
        return parse(commands.run(command, SS_TIMEOUT).requireSuccess().stdout());
    }

    /**
     * Lines of {@code NETID STATE RECV-Q SEND-Q LOCAL-NAME LOCAL-INODE PEER-NAME PEER-INODE}, where a
     * socket without a name shows as "*". A name holding a space (a path may) shifts the columns:
     * such a line is skipped, as is any whose inodes are not numbers. Datagram sockets are left out:
     * CRIU takes a datagram socket connected outside the tree along by the peer's name.
     */
    static Map<Long, Long> parse(String output) {
        Map<Long, Long> peers = new HashMap<>();
        for (String line : output.split("\n")) {
            String[] fields = line.trim().split("\\s+");
            if (fields.length != 8 || !(fields[0].equals("u_str") || fields[0].equals("u_seq"))) {
                continue;
            }
            try {
                long local = Long.parseLong(fields[5]);
                long peer = Long.parseLong(fields[7]);
                if (peer != 0) {
                    peers.put(local, peer);
                }
            } catch (NumberFormatException notInodes) {
                // A name with a space in it: see above.
            }
        }
        return peers;
    }
}
