package org.lifeboat.agent.migration;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import org.lifeboat.agent.criu.Criu;
import org.lifeboat.agent.criu.CriuException;

/**
 * Starts the CRIU page server a diskless migration's pages go to, on this node's loopback; the
 * peer server relays the source's page stream to it. The one place a page server is started.
 */
public final class PageServers {

    private static final Duration CRIU_TIMEOUT = Duration.ofMinutes(30);

    private final Criu criu;

    public PageServers(Criu criu) {
        this.criu = Objects.requireNonNull(criu, "criu");
    }

    /** Starts a page server writing into {@code images}; returns once it listens, with where it listens. */
    InetSocketAddress start(Path images) throws CriuException, IOException {
        InetSocketAddress listen = new InetSocketAddress("127.0.0.1", freePort());
        criu.startPageServer(images, listen, CRIU_TIMEOUT);
        return listen;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
