package org.lifeboat.agent.peer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * A man in the middle for one connection: passes the server's bytes back untouched, but flips one
 * byte of what the client sends, or ends the client's stream early (as a cut connection that
 * closed cleanly would), dropping the rest.
 */
final class TamperingProxy implements AutoCloseable {

    private final ServerSocket listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    private final InetSocketAddress target;
    private final long offset;
    private final boolean truncate;
    private final Thread thread;

    private TamperingProxy(InetSocketAddress target, long offset, boolean truncate) throws IOException {
        this.target = target;
        this.offset = offset;
        this.truncate = truncate;
        this.thread = new Thread(this::proxyOne, "tampering-proxy");
        thread.setDaemon(true);
        thread.start();
    }

    /** Flips every bit of the client's byte at this offset of its stream. */
    static TamperingProxy flippingByteAt(InetSocketAddress target, long offset) throws IOException {
        return new TamperingProxy(target, offset, false);
    }

    /** Passes this many of the client's bytes, then ends the stream toward the server. */
    static TamperingProxy truncatingAfter(InetSocketAddress target, long bytes) throws IOException {
        return new TamperingProxy(target, bytes, true);
    }

    InetSocketAddress address() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort());
    }

    private void proxyOne() {
        try (Socket client = listener.accept(); Socket server = new Socket(target.getAddress(), target.getPort())) {
            Thread back = new Thread(() -> {
                try {
                    // As they come: the server greets first, and the client waits for that.
                    server.getInputStream().transferTo(client.getOutputStream());
                    client.shutdownOutput();
                } catch (IOException e) {
                    // The test sees the effect on its own connection.
                }
            });
            back.start();
            InputStream in = client.getInputStream();
            OutputStream out = server.getOutputStream();
            byte[] buffer = new byte[64 * 1024];
            long position = 0;
            for (int read = in.read(buffer); read >= 0; read = in.read(buffer)) {
                if (truncate) {
                    int passed = (int) Math.max(0, Math.min(read, offset - position));
                    if (passed > 0) {
                        out.write(buffer, 0, passed);
                    }
                    if (position + read >= offset && !server.isOutputShutdown()) {
                        server.shutdownOutput();
                    }
                } else {
                    if (offset >= position && offset < position + read) {
                        buffer[(int) (offset - position)] ^= (byte) 0xff;
                    }
                    out.write(buffer, 0, read);
                }
                position += read;
            }
            if (!server.isOutputShutdown()) {
                server.shutdownOutput();
            }
            back.join();
        } catch (IOException e) {
            // The test sees the effect on its own connection.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        listener.close();
        thread.join(10_000);
    }
}
