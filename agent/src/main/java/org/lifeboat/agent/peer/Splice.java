package org.lifeboat.agent.peer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * Two sockets joined: bytes are pumped both ways, each direction on a thread of its own, until both
 * directions have ended; then both sockets are closed. The end of one direction is passed on as a
 * half-close, so the far end sees it while the other direction keeps flowing. A failure or an early
 * close resets both connections instead: a clean end would tell the far ends that everything had
 * been sent.
 */
final class Splice {

    private static final Logger LOG = Logger.getLogger(Splice.class.getName());

    private final Socket first;
    private final InputStream fromFirst;
    private final Socket second;
    private final InputStream fromSecond;
    private final AtomicLong firstToSecond = new AtomicLong();
    private final AtomicLong secondToFirst = new AtomicLong();
    private final AtomicInteger running = new AtomicInteger(2);
    private final CompletableFuture<Void> finished = new CompletableFuture<>();
    private volatile boolean closed;

    /** The streams are the sockets' own, or wrap them with bytes already read ahead. */
    Splice(Socket first, InputStream fromFirst, Socket second, InputStream fromSecond) {
        this.first = first;
        this.fromFirst = fromFirst;
        this.second = second;
        this.fromSecond = fromSecond;
    }

    void start(String name) {
        startThread(name + "-out", () -> pump(fromFirst, second, firstToSecond));
        startThread(name + "-in", () -> pump(fromSecond, first, secondToFirst));
    }

    long bytesFirstToSecond() {
        return firstToSecond.get();
    }

    long bytesSecondToFirst() {
        return secondToFirst.get();
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

    /** Waits for both directions to end, however long that takes. */
    void awaitEnd() throws IOException, InterruptedException {
        try {
            finished.get();
        } catch (ExecutionException e) {
            throw (IOException) e.getCause();
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

    private void pump(InputStream from, Socket to, AtomicLong counter) {
        byte[] buffer = new byte[WireFormat.BUFFER_BYTES];
        try {
            OutputStream out = to.getOutputStream();
            for (int read = from.read(buffer); read >= 0; read = from.read(buffer)) {
                out.write(buffer, 0, read);
                counter.addAndGet(read);
            }
            to.shutdownOutput();
        } catch (IOException e) {
            // Either side failing ends the relay: half of a CRIU page-server conversation is useless.
            abort(first);
            abort(second);
            finished.completeExceptionally(closed
                    ? new IOException("the relay was closed before both sides had finished")
                    : new IOException("relaying to " + WireFormat.describe(to) + " failed: " + e.getMessage(), e));
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
        try {
            if (!socket.isClosed()) {
                socket.setSoLinger(true, 0);
            }
        } catch (IOException e) {
            LOG.fine(() -> "cannot make closing a socket reset it: " + e.getMessage());
        }
        closeQuietly(socket);
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
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
