package org.lifeboat.agent.migration;

import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.UUID;
import org.lifeboat.agent.criu.Checkpointer;
import org.lifeboat.agent.criu.CriuException;

/**
 * Starts the CRIU page server a diskless migration's pages go to. It listens on nothing: it is
 * connected to this agent alone (see {@link Checkpointer#startPageServer}), and the peer server
 * relays the source's page stream into that connection. The one place a page server is started.
 */
public final class PageServers {

    private static final Duration CRIU_TIMEOUT = Duration.ofMinutes(30);
    // A Unix socket's path is limited to 107 bytes, which an image directory below a deep checkout or
    // site path can exceed on its own: the socket's directory lies in the short temporary directory,
    // under a random name (created 0700 by root, it must not exist yet: nobody can prepare it or guess it).
    private static final Path SOCKET_PARENT = Path.of(System.getProperty("java.io.tmpdir"));

    private final Checkpointer criu;

    public PageServers(Checkpointer criu) {
        this.criu = Objects.requireNonNull(criu, "criu");
    }

    /** Starts a page server writing into {@code images}; returns the agent's end of its one connection. */
    SocketChannel start(Path images) throws CriuException {
        Path socketDirectory = SOCKET_PARENT.resolve("lifeboat-page-server-" + UUID.randomUUID());
        return criu.startPageServer(images, socketDirectory, CRIU_TIMEOUT).connection();
    }
}
