package org.lifeboat.agent.socket;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A byte-level client of the agent socket, on the JDK's own Unix sockets rather than the agent's
 * jnr ones: sends anything, and never waits longer than it is told to.
 */
final class RawConnection implements AutoCloseable {

    private final SocketChannel channel;

    private RawConnection(SocketChannel channel) {
        this.channel = channel;
    }

    static RawConnection open(Path socket) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            channel.close();
            throw e;
        }
        return new RawConnection(channel);
    }

    /**
     * Sends the bytes. Returns false if the agent had already closed the connection (it may, after
     * refusing an earlier line), which is not an error: what it replied can still be read.
     */
    boolean send(byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        try {
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    boolean send(String text) {
        return send(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Tells the agent nothing more is coming. */
    void endOutput() {
        try {
            channel.shutdownOutput();
        } catch (IOException e) {
            // Already closed by the agent: nothing left to end.
        }
    }

    /**
     * Reads until the agent closes the connection or the time is up, whichever comes first. A reset
     * (the agent closed with bytes of ours unread) counts as a close.
     */
    Received readUntilClosed(Duration timeout) throws IOException {
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        long deadline = System.nanoTime() + timeout.toNanos();
        channel.configureBlocking(false);
        try (Selector selector = Selector.open()) {
            channel.register(selector, SelectionKey.OP_READ);
            ByteBuffer buffer = ByteBuffer.allocate(8192);
            while (true) {
                long remainingMillis = (deadline - System.nanoTime()) / 1_000_000;
                if (remainingMillis <= 0) {
                    return new Received(received.toString(StandardCharsets.UTF_8), false);
                }
                selector.select(remainingMillis);
                selector.selectedKeys().clear();
                buffer.clear();
                int read;
                try {
                    read = channel.read(buffer);
                } catch (IOException reset) {
                    return new Received(received.toString(StandardCharsets.UTF_8), true);
                }
                if (read < 0) {
                    return new Received(received.toString(StandardCharsets.UTF_8), true);
                }
                received.write(buffer.array(), 0, read);
            }
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    /** What the agent sent, and whether it closed the connection within the time allowed. */
    record Received(String text, boolean closed) {

        List<String> lines() {
            return text.isEmpty() ? List.of() : text.lines().toList();
        }
    }
}
