package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.criu.Checkpointer;
import org.lifeboat.agent.criu.Criu;

/** Where the page server's owner-only socket goes. */
class PageServersTest {

    // What the kernel takes in sun_path, less its terminating NUL.
    private static final int UNIX_PATH_LIMIT = 107;

    @Test
    void theSocketFitsAUnixPathHoweverDeepTheImageDirectoryIs() throws Exception {
        // The testbed's image directories under a CI checkout reached 105 bytes before the socket's name.
        Path images = Path.of("/" + "deep-checkout-path/".repeat(8) + "checkpoints/incoming/job645-2af44127");
        List<Path> socketDirectories = new ArrayList<>();
        Checkpointer criu = new Checkpointer() {
            @Override
            public void dump(Criu.DumpSpec spec) {
                throw new AssertionError("not part of this test");
            }

            @Override
            public long restore(Criu.RestoreSpec spec) {
                throw new AssertionError("not part of this test");
            }

            @Override
            public Criu.PageServer startPageServer(Path imageDirectory, Path socketDirectory, Duration timeout) {
                socketDirectories.add(socketDirectory);
                try (ServerSocketChannel listener = ServerSocketChannel.open()) {
                    listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                    SocketChannel connection = SocketChannel.open(listener.getLocalAddress());
                    listener.accept().close();
                    return new Criu.PageServer(1, connection);
                } catch (java.io.IOException e) {
                    throw new AssertionError(e);
                }
            }
        };

        new PageServers(criu).start(images).close();
        new PageServers(criu).start(images).close();

        Path socket = socketDirectories.get(0).resolve("page-server.sock");
        assertTrue(socket.toString().length() <= UNIX_PATH_LIMIT, socket + " is too long for a Unix socket");
        assertFalse(socket.startsWith(images));
        assertFalse(socketDirectories.get(0).equals(socketDirectories.get(1)), "each page server gets a fresh directory");
    }
}
