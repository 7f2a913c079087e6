package org.lifeboat.agent.lifecycle;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import jnr.unixsocket.UnixDatagramChannel;
import jnr.unixsocket.UnixSocketAddress;

/**
 * systemd's end of the sd_notify protocol: the Unix datagram socket it names in {@code NOTIFY_SOCKET},
 * one datagram per message.
 */
final class NotifySocket implements NotificationSink {

    static final String NOTIFY_SOCKET = "NOTIFY_SOCKET";

    private final String socketName;

    /** @param socketName NOTIFY_SOCKET's value: an absolute path, or "@name" in the abstract namespace */
    NotifySocket(String socketName) {
        this.socketName = Objects.requireNonNull(socketName, "socketName");
    }

    @Override
    public void send(String message) throws IOException {
        ByteBuffer datagram = ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8));
        try (UnixDatagramChannel channel = UnixDatagramChannel.open()) {
            int sent = channel.send(datagram, address());
            if (sent != datagram.capacity()) {
                throw new IOException("sent " + sent + " of " + datagram.capacity() + " bytes");
            }
        } catch (IOException e) {
            throw new IOException("cannot tell systemd " + message + " on " + NOTIFY_SOCKET + "=" + socketName + ": "
                    + e.getMessage(), e);
        }
    }

    /** The two forms systemd uses for a Unix socket: an absolute path, or an abstract name written "@name". */
    private UnixSocketAddress address() throws IOException {
        if (socketName.startsWith("@")) {
            // The abstract namespace: a leading NUL byte instead of '@', and no file.
            return new UnixSocketAddress("\0" + socketName.substring(1));
        }
        if (!socketName.startsWith("/")) {
            throw new IOException("must be an absolute path or start with '@'");
        }
        return new UnixSocketAddress(socketName);
    }
}
