package org.lifeboat.agent.criu;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

/**
 * A Unix socket that only the agent's own user can reach, for handing CRIU's page server a
 * connection instead of letting it listen: it lies in a directory created here with mode 0700
 * (no other user can even name it), and the one connection taken must come from the directory's
 * owner (SO_PEERCRED), so a listener left open by mistake still serves nobody else.
 */
final class OwnerOnlySocket implements AutoCloseable {

    private static final String SOCKET_NAME = "page-server.sock";

    private final Path directory;
    private final ServerSocketChannel listener;
    private final UserPrincipal owner;

    private OwnerOnlySocket(Path directory, ServerSocketChannel listener, UserPrincipal owner) {
        this.directory = directory;
        this.listener = listener;
        this.owner = owner;
    }

    /** Creates {@code directory} (it must not exist: one that does may be someone else's) and listens in it. */
    static OwnerOnlySocket bind(Path directory) throws IOException {
        // Created with its mode, never widened later: there is no moment in which another user may enter.
        Files.createDirectory(directory, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            listener.bind(UnixDomainSocketAddress.of(directory.resolve(SOCKET_NAME)), 1);
            return new OwnerOnlySocket(directory, listener, Files.getOwner(directory));
        } catch (IOException | RuntimeException e) {
            listener.close();
            Files.deleteIfExists(directory.resolve(SOCKET_NAME));
            Files.deleteIfExists(directory);
            throw e;
        }
    }

    Path path() {
        return directory.resolve(SOCKET_NAME);
    }

    /**
     * The connection already waiting, in blocking mode, if its peer is the owner.
     *
     * @throws IOException nobody has connected, or someone other than the owner did
     */
    SocketChannel takeConnection() throws IOException {
        listener.configureBlocking(false);
        SocketChannel connection = listener.accept();
        if (connection == null) {
            throw new IOException("nothing connected to " + path());
        }
        try {
            UnixDomainPrincipal peer = connection.getOption(ExtendedSocketOptions.SO_PEERCRED);
            if (!peer.user().equals(owner)) {
                throw new IOException("the connection to " + path() + " came from " + peer.user().getName() + ", not from "
                        + owner.getName());
            }
            connection.configureBlocking(true);
            return connection;
        } catch (IOException | RuntimeException e) {
            connection.close();
            throw e;
        }
    }

    /** Stops listening and removes the socket and its directory; a connection taken stays open. */
    @Override
    public void close() throws IOException {
        listener.close();
        Files.deleteIfExists(path());
        Files.deleteIfExists(directory);
    }
}
