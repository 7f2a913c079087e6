package org.lifeboat.agent.socket;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;
import jnr.unixsocket.Credentials;
import jnr.unixsocket.UnixServerSocketChannel;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;
import jnr.unixsocket.UnixSocketOptions;
import org.lifeboat.agent.lifecycle.LifeCycleComponent;
import org.lifeboat.agent.lifecycle.Liveness;

/**
 * The agent's local socket: how slurmstepd registers migratable steps and how users ask about and
 * act on their jobs.
 *
 * <p>Security model. The socket is local only (a Unix socket file). Its mode is 0666 because every
 * user may ask about their own jobs; what a connection may do is decided on every request from the
 * peer's credentials as the kernel reports them (SO_PEERCRED), never from anything the peer says:
 * registrations only from root or SlurmUser, a user's own jobs only, root anything (see
 * {@link Authorizer}). The socket file appears whole or not at all: it is bound under a temporary
 * name, given its mode, then renamed into place. A stale file from a crashed agent is removed at
 * start (after checking no agent answers on it), and the file is removed at stop.
 *
 * <p>Bounds. One request per line, at most {@link #MAX_LINE_BYTES}; a connection must complete each
 * line within its request timeout ({@link #REQUEST_TIMEOUT} in the agent) or is closed; at most {@link #HANDLER_THREADS} connections are
 * served at once and {@link #WAITING_CONNECTIONS} wait, beyond that a connection gets "busy". A
 * malformed, oversized, unauthorised or unknown request gets its error reply and its connection is
 * closed; everyone else is still served. The request timeout applies to writing the reply too, so
 * a peer that never reads its replies cannot hold a handler thread either.
 */
public final class AgentSocketServer implements LifeCycleComponent {

    /** A request carries ids, a node name and a mode (under 300 bytes), never a manifest: 64 KiB is ample. */
    public static final int MAX_LINE_BYTES = 64 * 1024;
    /** How long a connection may take to send one request line, and to take its reply: slurmstepd does both at once. */
    public static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
    static final int HANDLER_THREADS = 8;
    // A 500-task job array starting at once must not be turned away: its registrations queue here.
    static final int WAITING_CONNECTIONS = 1024;
    private static final Logger LOG = Logger.getLogger(AgentSocketServer.class.getName());
    // The result label of a request that succeeded; a refused one's is its error code.
    private static final String OK = "ok";

    private final Path socketPath;
    private final RequestHandler handler;
    private final MeterRegistry meters;
    private final Duration requestTimeout;
    private final Set<UnixSocketChannel> openConnections = ConcurrentHashMap.newKeySet();
    private final ThreadPoolExecutor handlers = new ThreadPoolExecutor(HANDLER_THREADS, HANDLER_THREADS, 0,
            TimeUnit.SECONDS, new ArrayBlockingQueue<>(WAITING_CONNECTIONS), daemonThreads("lifeboat-socket"));
    private final ScheduledExecutorService watchdog =
            Executors.newSingleThreadScheduledExecutor(daemonThreads("lifeboat-socket-watchdog"));
    private UnixServerSocketChannel serverChannel;
    private Thread acceptThread;
    private volatile boolean stopping;

    public AgentSocketServer(Path socketPath, RequestHandler handler, MeterRegistry meters, Duration requestTimeout) {
        this.socketPath = Objects.requireNonNull(socketPath, "socketPath").toAbsolutePath();
        this.handler = Objects.requireNonNull(handler, "handler");
        this.meters = Objects.requireNonNull(meters, "meters");
        this.requestTimeout = Objects.requireNonNull(requestTimeout, "requestTimeout");
        // Every request and result at zero from the start, so that rate() and increase() see the first of each.
        for (String request : handler.requestNames()) {
            if (!request.equals(RequestHandler.INVALID_REQUEST)) {
                requestCounter(request, OK);
            }
            for (ErrorCode code : ErrorCode.values()) {
                requestCounter(request, code.wireName());
            }
        }
    }

    public Path socketPath() {
        return socketPath;
    }

    @Override
    public void start() throws IOException {
        Path directory = socketPath.getParent();
        if (!Files.isDirectory(directory)) {
            Files.createDirectories(directory, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        }
        removeStaleSocket();
        Path temporary = directory.resolve("." + socketPath.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        Files.deleteIfExists(temporary);
        serverChannel = UnixServerSocketChannel.open();
        try {
            serverChannel.socket().bind(new UnixSocketAddress(temporary.toFile()), WAITING_CONNECTIONS);
            Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-rw-rw-"));
            Files.move(temporary, socketPath, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            serverChannel.close();
            Files.deleteIfExists(temporary);
            throw new IOException("cannot serve the agent socket " + socketPath + ": " + e.getMessage(), e);
        }
        acceptThread = new Thread(this::acceptConnections, "lifeboat-socket-accept");
        acceptThread.setDaemon(true);
        acceptThread.start();
        LOG.info("serving " + socketPath);
    }

    /** For the watchdog: the accept loop ends before a stop only on an error, which it has logged. */
    public Liveness acceptLoop() {
        return () -> stopping || acceptThread.isAlive() ? Optional.empty()
                : Optional.of("the agent socket " + socketPath + " accepts no more connections (see the error above)");
    }

    @Override
    public void stop() throws IOException {
        stopping = true;
        // A blocked accept() does not return when its channel is closed; one last connection wakes it.
        try (UnixSocketChannel wakeUp = UnixSocketChannel.open(new UnixSocketAddress(socketPath.toFile()))) {
            LOG.fine("woke the accept thread");
        } catch (IOException e) {
            LOG.fine("accept thread already gone: " + e.getMessage());
        }
        serverChannel.close();
        handlers.shutdownNow();
        watchdog.shutdownNow();
        for (UnixSocketChannel connection : openConnections) {
            closeQuietly(connection);
        }
        try {
            acceptThread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(socketPath);
    }

    private void removeStaleSocket() throws IOException {
        if (!Files.exists(socketPath)) {
            return;
        }
        try (UnixSocketChannel probe = UnixSocketChannel.open(new UnixSocketAddress(socketPath.toFile()))) {
            throw new IOException("another agent is serving " + socketPath);
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("another agent")) {
                throw e;
            }
            LOG.info("removing stale socket " + socketPath + " (" + e.getMessage() + ")");
            Files.delete(socketPath);
        }
    }

    private void acceptConnections() {
        while (!stopping) {
            UnixSocketChannel connection;
            try {
                connection = serverChannel.accept();
            } catch (IOException e) {
                if (!stopping) {
                    LOG.log(Level.SEVERE, "accepting on " + socketPath + " failed", e);
                }
                return;
            }
            if (connection == null) {
                continue;
            }
            if (stopping) {
                closeQuietly(connection);
                return;
            }
            openConnections.add(connection);
            try {
                handlers.execute(() -> serve(connection));
            } catch (RejectedExecutionException e) {
                refuseBusy(connection);
            }
        }
    }

    private void serve(UnixSocketChannel connection) {
        PeerCredentials peer = null;
        AtomicBoolean cutOff = new AtomicBoolean();
        try {
            peer = credentials(connection);
            InputStream input = new BufferedInputStream(Channels.newInputStream(connection));
            OutputStream output = Channels.newOutputStream(connection);
            while (!stopping) {
                // Reading the line and writing its reply each have a deadline; carrying the request
                // out does not, since a migration takes as long as it takes.
                Line line;
                try (Deadline reading = startDeadline(connection, cutOff)) {
                    line = readLine(input);
                }
                // A line cut short by the deadline is not a request, even if what arrived parses.
                if (line.endOfStream() || cutOff.get()) {
                    return;
                }
                Reply reply = line.tooLarge() ? handler.tooLarge(peer, MAX_LINE_BYTES) : handler.handle(peer, line.text());
                count(reply);
                try (Deadline writing = startDeadline(connection, cutOff)) {
                    output.write((reply.line() + "\n").getBytes(StandardCharsets.UTF_8));
                    output.flush();
                }
                if (!reply.succeeded()) {
                    return;
                }
            }
        } catch (IOException e) {
            // The peer went away or the watchdog cut off a connection that stalled: nothing to answer.
            LOG.fine(() -> "connection ended: " + e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(Level.SEVERE, "request from " + peer + " failed unexpectedly", e);
        } finally {
            openConnections.remove(connection);
            synchronized (connection) {
                closeQuietly(connection);
            }
        }
    }

    private Deadline startDeadline(UnixSocketChannel connection, AtomicBoolean cutOff) {
        ScheduledFuture<?> timer = watchdog.schedule(() -> {
            cutOff.set(true);
            shutDown(connection);
        }, requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
        return () -> timer.cancel(false);
    }

    /** A running request timeout; closing it cancels it. */
    @FunctionalInterface
    private interface Deadline extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Ends a stalled connection's reading and writing, which wakes its thread; that thread closes it.
     * Closing it here would free its descriptor for reuse by a new connection while its thread may
     * still read or write that number.
     */
    private static void shutDown(UnixSocketChannel connection) {
        synchronized (connection) {
            if (!connection.isOpen()) {
                return;
            }
            try {
                connection.shutdownInput();
                connection.shutdownOutput();
            } catch (IOException e) {
                LOG.fine(() -> "shutting down a stalled connection failed: " + e.getMessage());
            }
        }
    }

    private void refuseBusy(UnixSocketChannel connection) {
        try (connection) {
            Reply reply = handler.busy(credentials(connection));
            count(reply);
            Channels.newOutputStream(connection).write((reply.line() + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            LOG.fine(() -> "could not tell a peer the agent is busy: " + e.getMessage());
        } finally {
            openConnections.remove(connection);
        }
    }

    private void count(Reply reply) {
        requestCounter(reply.request(), reply.succeeded() ? OK : reply.error().wireName()).increment();
    }

    private Counter requestCounter(String request, String result) {
        return Counter.builder("lifeboat_socket_requests")
                .description("Requests on the agent's Unix socket, by request type and result")
                .tag("request", request)
                .tag("result", result)
                .register(meters);
    }

    private static PeerCredentials credentials(UnixSocketChannel connection) throws IOException {
        Credentials credentials = connection.getOption(UnixSocketOptions.SO_PEERCRED);
        return new PeerCredentials(credentials.getPid(), credentials.getUid(), credentials.getGid());
    }

    /** Reads one line, without its newline; stops reading at the size limit rather than buffering more. */
    private static Line readLine(InputStream input) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        while (true) {
            int next = input.read();
            if (next == -1) {
                return line.size() == 0 ? Line.END_OF_STREAM : new Line(line.toString(StandardCharsets.UTF_8), false, false);
            }
            if (next == '\n') {
                return new Line(line.toString(StandardCharsets.UTF_8), false, false);
            }
            if (line.size() == MAX_LINE_BYTES) {
                return Line.TOO_LARGE;
            }
            line.write(next);
        }
    }

    private static void closeQuietly(UnixSocketChannel connection) {
        try {
            connection.close();
        } catch (IOException e) {
            LOG.fine(() -> "closing a connection failed: " + e.getMessage());
        }
    }

    private static java.util.concurrent.ThreadFactory daemonThreads(String name) {
        return runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        };
    }

    private record Line(String text, boolean endOfStream, boolean tooLarge) {
        static final Line END_OF_STREAM = new Line("", true, false);
        static final Line TOO_LARGE = new Line("", false, true);
    }
}
