package org.lifeboat.agent.peer;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;

/**
 * The source's end of a page-server relay: a loopback port for {@code criu dump --page-server
 * --address 127.0.0.1 --port P}, joined to an authenticated connection to the target agent, which
 * joins it to its own CRIU page server. So the target's page server listens on loopback only and
 * page traffic crosses the network only inside a connection both agents authenticated.
 *
 * <p>The port takes exactly one connection, and only one opened by the agent's own user (root):
 * another local user connecting first could otherwise feed the target pages of their choosing. A
 * connection from anyone else is closed and logged, and the port keeps waiting for CRIU.
 */
public final class PageRelay implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(PageRelay.class.getName());
    private static final Duration ACCEPTOR_EXIT_WAIT = Duration.ofSeconds(2);

    private final ServerSocket listener;
    private final Socket peer;
    private final ByteBuffer readFromPeer;
    private final String request;
    private final int allowedUid;
    private final PageCompression compression;
    private final byte[] key;
    private final CompletableFuture<Splice> connected = new CompletableFuture<>();
    private boolean closed;
    private Splice splice;
    private Thread acceptor;

    private PageRelay(ServerSocket listener, Socket peer, ByteBuffer readFromPeer, String request, int allowedUid,
                      PageCompression compression, byte[] key) {
        this.listener = listener;
        this.peer = peer;
        this.readFromPeer = readFromPeer;
        this.request = request;
        this.allowedUid = allowedUid;
        this.compression = compression;
        this.key = key;
    }

    /**
     * Listens on a free loopback port and relays its one connection to the peer's connection, which
     * must have a channel (see {@link Splice}), compressing what goes to the peer as agreed with it,
     * and signing and checking the frames both ways with {@code key}, which the peer got sealed. Only a
     * connection of {@code allowedUid}'s is taken: the uid CRIU dumps as, the job's owner (whose other
     * processes could only send their own job wrong pages) or root.
     */
    static PageRelay start(Socket peer, ByteBuffer readFromPeer, String request, PageCompression compression, byte[] key,
                           int allowedUid) throws IOException {
        // Opened through a channel, so that accepted sockets have channels too.
        ServerSocket listener = ServerSocketChannel.open().socket();
        PageRelay relay;
        try {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
            relay = new PageRelay(listener, peer, readFromPeer, request, allowedUid, compression, key);
        } catch (IOException | RuntimeException e) {
            listener.close();
            throw e;
        }
        Thread acceptor = new Thread(relay::acceptOne, "lifeboat-page-relay-accept");
        acceptor.setDaemon(true);
        relay.acceptor = acceptor;
        acceptor.start();
        return relay;
    }

    /** The loopback port CRIU connects to. */
    public int port() {
        return listener.getLocalPort();
    }

    /** Bytes relayed from CRIU to the peer so far, as CRIU sent them. */
    public synchronized long bytesToPeer() {
        return splice == null ? 0 : splice.bytesFirstToSecond();
    }

    /** What those bytes took on the link to the peer: fewer when they were compressed. */
    public synchronized long wireBytesToPeer() {
        return splice == null ? 0 : splice.wireBytesFirstToSecond();
    }

    /**
     * Waits until CRIU has connected and both directions have ended.
     *
     * @return false if that has not happened when the timeout passes
     * @throws IOException the relay failed, or was closed first
     */
    public boolean awaitFinished(Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Splice joined;
        try {
            joined = connected.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            throw (IOException) e.getCause();
        }
        return joined.await(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
    }

    /** Tears the relay down: the port, CRIU's connection and the peer's. */
    @Override
    public void close() {
        Splice joined;
        synchronized (this) {
            closed = true;
            joined = splice;
        }
        // Before closing the port, whose waiting thread would report its own, less telling reason.
        connected.completeExceptionally(new IOException("the relay for " + request + " was closed before CRIU connected"));
        closeQuietly(listener);
        awaitAcceptor();
        if (joined != null) {
            joined.close();
        }
        Splice.abort(peer);
    }

    /**
     * A listener closed while its thread is blocked in accept is only really closed once that thread
     * has left accept: until then the kernel still completes connections to the port. Waiting for
     * it means that after {@link #close} nobody, CRIU included, can connect any more.
     */
    private void awaitAcceptor() {
        if (acceptor == null || acceptor == Thread.currentThread()) {
            return;
        }
        try {
            acceptor.join(ACCEPTOR_EXIT_WAIT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void acceptOne() {
        while (true) {
            Socket local;
            try {
                local = listener.accept();
            } catch (IOException e) {
                connected.completeExceptionally(new IOException("the relay for " + request + " stopped waiting for CRIU: " + e.getMessage(), e));
                return;
            }
            String refusal = refusal(local);
            if (refusal == null) {
                join(local);
                return;
            }
            LOG.warning("refused a connection to the page relay for " + request + " from " + WireFormat.describe(local) + ": " + refusal);
            closeQuietly(local);
        }
    }

    /** Why this connection may not feed the relay, or null if it may. */
    private String refusal(Socket local) {
        try {
            OptionalInt owner = LoopbackOwners.ownerOf(local);
            if (owner.isEmpty()) {
                return "its socket is not listed with its owner in /proc/net/tcp or tcp6";
            }
            if (owner.getAsInt() != allowedUid) {
                return "it was opened by uid " + owner.getAsInt() + ", not by uid " + allowedUid + ", whom CRIU dumps as";
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return "its owner cannot be determined: " + e.getMessage();
        }
    }

    private void join(Socket local) {
        closeQuietly(listener);
        Splice joined;
        synchronized (this) {
            if (closed) {
                closeQuietly(local);
                return;
            }
            try {
                local.setTcpNoDelay(true);
                joined = new Splice(local.getChannel(), ByteBuffer.allocate(0), peer.getChannel(), readFromPeer,
                        compression.sendingPump(new FrameMac(key, FrameMac.Direction.TO_TARGET)),
                        PageCompression.receivingPump(new FrameMac(key, FrameMac.Direction.TO_SOURCE)));
            } catch (IOException e) {
                closeQuietly(local);
                Splice.abort(peer);
                connected.completeExceptionally(new IOException("cannot relay CRIU's connection: " + e.getMessage(), e));
                return;
            }
            splice = joined;
        }
        joined.start("lifeboat-page-relay");
        connected.complete(joined);
    }

    private static void closeQuietly(AutoCloseable closeable) {
        try {
            closeable.close();
        } catch (Exception e) {
            LOG.fine(() -> "closing part of a page relay failed: " + e.getMessage());
        }
    }
}
