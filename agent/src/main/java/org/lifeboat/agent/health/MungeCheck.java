package org.lifeboat.agent.health;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;
import org.lifeboat.agent.peer.PeerAuthenticationException;
import org.lifeboat.agent.peer.PeerAuthenticator;

/**
 * munged, as migrations use it: one credential made through the agent's own authenticator (libmunge,
 * one round trip on munged's socket). A munged that is down, or whose socket is gone, fails it.
 */
public final class MungeCheck implements DependencyCheck {

    private static final byte[] MESSAGE = "lifeboat dependency check".getBytes(StandardCharsets.US_ASCII);

    private final PeerAuthenticator peers;
    private final Path socket;

    /** @param socket munged's socket, which the details name */
    public MungeCheck(PeerAuthenticator peers, Path socket) {
        this.peers = Objects.requireNonNull(peers, "peers");
        this.socket = Objects.requireNonNull(socket, "socket");
    }

    @Override
    public DependencyState check() {
        try {
            peers.seal(MESSAGE);
            return DependencyState.ready("munged makes credentials on " + socket);
        } catch (PeerAuthenticationException e) {
            return DependencyState.notReady(e.getMessage() + " (munged's socket: " + socket + ")");
        }
    }
}
