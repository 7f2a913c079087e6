package org.lifeboat.agent.peer;

import java.io.IOException;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;

/**
 * Two socket channels joined: bytes are pumped both ways, each direction on a thread of its own, until both
 * directions have ended; then both sockets are closed. The end of one direction is passed on as a
 * half-close, so the far end sees it while the other direction keeps flowing. A failure or an early
 * close resets both connections instead: a clean end would tell the far ends that everything had
 * been sent.
 *
 * <p>Channels, not socket streams: bytes move through a direct buffer between them, which saves the
 * two copies per chunk that socket streams make through a heap array; and a channel may be a Unix
 * socket (the target's page server) as well as TCP. Each direction
 * has its {@link PageCompression.Pump}: signed frames made on one end, checked and undone on the other.
 */
final class Splice {

    private static final Logger LOG = Logger.getLogger(Splice.class.getName());
    private static final Duration STALL_CHECK = Duration.ofMillis(500);

    private final SocketChannel first;
    private final ByteBuffer readFromFirst;
    private final SocketChannel second;
    private final ByteBuffer readFromSecond;
    private final PageCompression.Pump firstToSecondPump;
    private final PageCompression.Pump secondToFirstPump;
    private final PageCompression.Counters firstToSecond = new PageCompression.Counters();
    private final PageCompression.Counters secondToFirst = new PageCompression.Counters();
    private final AtomicInteger running = new AtomicInteger(2);
    private final CompletableFuture<Void> finished = new CompletableFuture<>();
    private volatile boolean closed;

    /**
     * The buffers hold bytes already read from each socket (read ahead with a message), to pass on
     * first; each pump carries the bytes of its direction.
     */
    Splice(SocketChannel first, ByteBuffer readFromFirst, SocketChannel second, ByteBuffer readFromSecond,
           PageCompression.Pump firstToSecondPump, PageCompression.Pump secondToFirstPump) {
        this.first = first;
        this.readFromFirst = readFromFirst;
        this.second = second;
        this.readFromSecond = readFromSecond;
        this.firstToSecondPump = firstToSecondPump;
        this.secondToFirstPump = secondToFirstPump;
    }

    void start(String name) {
        startThread(name + "-out", () -> pump(first, readFromFirst, second, firstToSecondPump, firstToSecond));
        startThread(name + "-in", () -> pump(second, readFromSecond, first, secondToFirstPump, secondToFirst));
    }

    /** Bytes from first to second as first sent or second received them: uncompressed. */
    long bytesFirstToSecond() {
        return firstToSecond.payload.get();
    }

    /** Bytes from first to second as they crossed between the agents: compressed, if they were. */
    long wireBytesFirstToSecond() {
        return firstToSecond.wire.get();
    }

    long bytesSecondToFirst() {
        return secondToFirst.payload.get();
    }

    /**
     * Waits for both directions to end.
     *
     * @return false if they are still running when the timeout passes
     * @throws IOException a direction failed or the splice was closed first
     */
    boolean await(Duration timeout) throws IOException, InterruptedException {
        try {
            finished.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            throw (IOException) e.getCause();
        }
    }

    /**
     * Waits for both directions to end, however long that takes while bytes flow; once bytes have
     * come from the first side, {@code stallLimit} without another closes the splice as failed. A
     * cut link sends no end: without this the relay, and what waits on it, would wait until TCP
     * gives up (many minutes).
     */
    void awaitEnd(Duration stallLimit) throws IOException, InterruptedException {
        long seen = -1;
        long progressAt = System.nanoTime();
        while (!await(STALL_CHECK)) {
            long bytes = bytesFirstToSecond();
            if (bytes != seen) {
                seen = bytes;
                progressAt = System.nanoTime();
            } else if (bytes > 0 && System.nanoTime() - progressAt > stallLimit.toNanos()) {
                close();
                throw new IOException("nothing came through the relay for " + stallLimit.toSeconds() + " s (after " + bytes
                        + " bytes): the link is down or stalled");
            }
        }
    }

    /** Ends both directions now; a splice still running then counts as failed. */
    void close() {
        closed = true;
        if (!finished.isDone()) {
            abort(first);
            abort(second);
        }
        finished.completeExceptionally(new IOException("the relay was closed before both sides had finished"));
    }

    private void pump(SocketChannel from, ByteBuffer alreadyRead, SocketChannel to, PageCompression.Pump pump,
                      PageCompression.Counters counters) {
        try {
            pump.pump(from, alreadyRead, to, counters);
            to.shutdownOutput();
        } catch (IOException e) {
            // The cause first, then the resets: the other direction fails on them, and the first failure
            // recorded is the one the relay reports (a frame that failed its integrity check, not the reset).
            finished.completeExceptionally(closed
                    ? new IOException("the relay was closed before both sides had finished")
                    : new IOException("relaying to " + describe(to) + " failed: " + e.getMessage(), e));
            // Either side failing ends the relay: half of a CRIU page-server conversation is useless.
            abort(first);
            abort(second);
            return;
        }
        if (running.decrementAndGet() == 0) {
            closeQuietly(first);
            closeQuietly(second);
            finished.complete(null);
        }
    }

    /** Closes the socket with a reset rather than a clean end of stream. */
    static void abort(Socket socket) {
        abort(socket.getChannel());
    }

    /** Closes the channel with a reset rather than a clean end of stream, where it has one (TCP). */
    static void abort(SocketChannel channel) {
        try {
            if (channel.isOpen() && channel.supportedOptions().contains(StandardSocketOptions.SO_LINGER)) {
                channel.setOption(StandardSocketOptions.SO_LINGER, 0);
            }
        } catch (IOException e) {
            LOG.fine(() -> "cannot make closing a socket reset it: " + e.getMessage());
        }
        closeQuietly(channel);
    }

    private static String describe(SocketChannel channel) {
        try {
            return String.valueOf(channel.getRemoteAddress());
        } catch (IOException e) {
            return "a closed socket";
        }
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            LOG.fine(() -> "closing a relayed socket failed: " + e.getMessage());
        }
    }

    private static void startThread(String name, Runnable pump) {
        Thread thread = new Thread(pump, name);
        thread.setDaemon(true);
        thread.start();
    }
}
