package org.lifeboat.agent.migration;

import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import org.lifeboat.agent.criu.Checkpointer;
import org.lifeboat.agent.criu.CriuException;

/**
 * Starts the CRIU page server a diskless migration's pages go to. It listens on nothing: it is
 * connected to this agent alone (see {@link Checkpointer#startPageServer}), and the peer server
 * relays the source's page stream into that connection. The one place a page server is started.
 */
public final class PageServers {

    private static final Duration CRIU_TIMEOUT = Duration.ofMinutes(30);
    // In the images directory: created by the agent, root's alone, gone once CRIU is connected.
    private static final String SOCKET_DIRECTORY = "page-server-socket";

    private final Checkpointer criu;

    public PageServers(Checkpointer criu) {
        this.criu = Objects.requireNonNull(criu, "criu");
    }

    /** Starts a page server writing into {@code images}; returns the agent's end of its one connection. */
    SocketChannel start(Path images) throws CriuException {
        return criu.startPageServer(images, images.resolve(SOCKET_DIRECTORY), CRIU_TIMEOUT).connection();
    }
}
