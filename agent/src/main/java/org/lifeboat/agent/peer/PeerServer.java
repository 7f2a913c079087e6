package org.lifeboat.agent.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.lifeboat.agent.lifecycle.LifeCycleComponent;
import org.lifeboat.agent.lifecycle.Liveness;

/**
 * The agent's TCP endpoint for other agents: how a checkpoint moves from the source node to the
 * target (prepare, the image files, CRIU's page-server traffic, restore).
 *
 * <h2>Wire format (version 2)</h2>
 *
 * On each connection the server speaks first: one line {@code {"version":2,"nonce":N}}, N fresh
 * random hex. Then a message is two lines, each ending in {@code \n}:
 * <ol>
 * <li>a credential from the sender's {@link PeerAuthenticator} (with MUNGE: {@code MUNGE:…:}) that
 * seals the exact bytes of line 2, and for a pipe a relay key (see {@link SealedPayload}); at most
 * {@value WireFormat#MAX_CREDENTIAL_BYTES} bytes without its newline;
 * <li>one JSON object, at most {@value WireFormat#MAX_LINE_BYTES} bytes (a prepare carries the
 * container manifest).
 * </ol>
 * One connection carries one request. The client sends
 * {@code {"version":2,"request":NAME,"kind":KIND,"from":SOURCE,"to":TARGET,"nonce":N,...fields}};
 * the server refuses it unless TARGET is its own node name ({@value #WRONG_NODE}) and N the nonce it
 * just sent ({@value #WRONG_NONCE}); a missing envelope field is {@value #MALFORMED}. KIND says what
 * follows:
 * <ul>
 * <li>{@code "call"}: nothing; the server replies.
 * <li>{@code "receive"}: the client sends the body as raw bytes and half-closes its output; the
 * server replies once it has read the body to its end, adding {@code "sha256"} (hex) and
 * {@code "bytes"} of everything it received, which the client compares with what it sent. The
 * body is sealed by nothing, so the handler keeps it unused until a later sealed request names its
 * digest (the image tar: {@link ImageSpool}).
 * <li>{@code "pipe"}: the server takes a connected local channel from its handler and replies; after
 * an ok reply both sides send frames (see {@link PageCompression}), each with an HMAC-SHA256 under
 * the key sealed into the request, over its direction and sequence number: the client's may be
 * LZ4-compressed ({@code "compression":"lz4"}), the server's are not. Each side checks every frame
 * before it passes anything of it on, and ends its direction with an end frame.
 * </ul>
 * Replies are sealed by the server the same way and verified by the client:
 * {@code {"version":2,"status":"ok","in-reply-to":H,...fields}} or
 * {@code {"version":2,"status":"error","in-reply-to":H,"error":{"code":C,"message":M}}}, where H is
 * the SHA-256 (hex) of the request's line 2, so a reply cannot be passed off as the answer to
 * another request. An error reply to a request the server could not read whole has no
 * {@code in-reply-to}. After an error reply the server closes the connection.
 *
 * <h2>Security</h2>
 *
 * Every request and reply is authenticated (see {@link MungeAuthenticator}: root on a node of the
 * same MUNGE realm, each credential valid for a few minutes and accepted once per node), and a
 * request is good for one node and one connection: captured on the network, it can be played
 * neither to another node nor to this one again. The image tar is unpacked only once its digest
 * matches the one sealed into {@code restore}; relayed page bytes are checked frame by frame. On
 * the source they enter through a loopback port that takes root's connection only (see
 * {@link PageRelay}); on the target they go only into a channel the handler connected itself (CRIU's
 * page server listens on nothing: see {@code Criu#startPageServer}). Nothing is encrypted: a job's
 * memory crosses the network readable, as Slurm's own I/O does.
 *
 * <h2>Bounds</h2>
 *
 * A request's two lines must arrive within {@link #REQUEST_TIMEOUT}, and a receive body may pause no
 * longer than that; a relay may idle for as long as it likes (CRIU pauses between writes), with TCP
 * keepalive on. {@link #HANDLER_THREADS} connections are served at once (a relay keeps its handler
 * for as long as it runs) and as many wait; beyond that a connection is closed unanswered. Refusals
 * are logged with the peer's address.
 */
public final class PeerServer implements LifeCycleComponent {

    /** How long a client may take to send a request's two lines, and the longest pause inside a body. */
    public static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
    // How long a relay waits for its local end when the handler makes it later (see PeerRequestHandler#pipe):
    // a post-copy target's restore begins once the source's dump and image tar are done.
    static final Duration PIPE_WAIT = Duration.ofMinutes(10);
    // Pages flow steadily once they start, in a dump's stream as in post-copy's background fetch: this long
    // without one and the link is taken for lost (the source's relay applies the same limit).
    static final Duration RELAY_STALL_LIMIT = Duration.ofSeconds(10);
    static final int HANDLER_THREADS = 16;

    /** The request is not two lines of the right size, not JSON, or lacks a field. */
    public static final String MALFORMED = "malformed";
    /** The credential is missing, invalid, replayed, not root's, or seals another message. */
    public static final String NOT_AUTHENTICATED = "not-authenticated";
    /** The request names a protocol version this agent does not speak. */
    public static final String UNSUPPORTED_VERSION = "unsupported-version";
    /** The request names another node as its target: it was captured on its way there. */
    public static final String WRONG_NODE = "wrong-node";
    /** The request does not carry the nonce this connection was greeted with: it was captured earlier. */
    public static final String WRONG_NONCE = "wrong-nonce";
    /** The server failed while carrying out the request. */
    public static final String INTERNAL = "internal";

    private static final Logger LOG = Logger.getLogger(PeerServer.class.getName());
    private static final Set<String> ENVELOPE = Set.of(WireFormat.VERSION_FIELD, WireFormat.REQUEST_FIELD, WireFormat.KIND_FIELD,
            WireFormat.FROM_FIELD, WireFormat.TO_FIELD, WireFormat.NONCE_FIELD);
    private static final int BACKLOG = 64;

    private final String nodeName;
    private final InetSocketAddress bind;
    private final PeerAuthenticator authenticator;
    private final PeerRequestHandler handler;
    private final Duration requestTimeout;
    private final Set<Socket> openSockets = ConcurrentHashMap.newKeySet();
    private final Set<Splice> openSplices = ConcurrentHashMap.newKeySet();
    private final ThreadPoolExecutor handlers = new ThreadPoolExecutor(HANDLER_THREADS, HANDLER_THREADS, 0,
            TimeUnit.SECONDS, new ArrayBlockingQueue<>(HANDLER_THREADS), runnable -> {
                Thread thread = new Thread(runnable, "lifeboat-peer");
                thread.setDaemon(true);
                return thread;
            });
    private ServerSocket serverSocket;
    private Thread acceptThread;
    private volatile boolean stopping;

    /** @param nodeName this node's name: a request must name it as its target */
    public PeerServer(String nodeName, InetSocketAddress bind, PeerAuthenticator authenticator, PeerRequestHandler handler) {
        this(nodeName, bind, authenticator, handler, REQUEST_TIMEOUT);
    }

    PeerServer(String nodeName, InetSocketAddress bind, PeerAuthenticator authenticator, PeerRequestHandler handler,
               Duration requestTimeout) {
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
        this.bind = Objects.requireNonNull(bind, "bind");
        this.authenticator = Objects.requireNonNull(authenticator, "authenticator");
        this.handler = Objects.requireNonNull(handler, "handler");
        this.requestTimeout = Objects.requireNonNull(requestTimeout, "requestTimeout");
    }

    @Override
    public void start() throws IOException {
        // Through a channel, so that accepted sockets have channels, which relays need (see Splice).
        ServerSocket socket = ServerSocketChannel.open().socket();
        try {
            // A restarted agent must get its port back while the old connections are in TIME_WAIT.
            socket.setReuseAddress(true);
            socket.bind(bind, BACKLOG);
        } catch (IOException e) {
            socket.close();
            throw new IOException("cannot listen for other agents on " + bind + ": " + e.getMessage(), e);
        }
        serverSocket = socket;
        acceptThread = new Thread(this::acceptConnections, "lifeboat-peer-accept");
        acceptThread.setDaemon(true);
        acceptThread.start();
        LOG.info("listening for other agents on " + boundAddress());
    }

    /** For the watchdog: the accept loop ends before a stop only on an error, which it has logged. */
    public Liveness acceptLoop() {
        return () -> stopping || acceptThread.isAlive() ? Optional.empty()
                : Optional.of("the peer server accepts no more connections from other agents (see the error above)");
    }

    /** The address actually bound: with port 0, the port the system chose. */
    public InetSocketAddress boundAddress() {
        return new InetSocketAddress(serverSocket.getInetAddress(), serverSocket.getLocalPort());
    }

    @Override
    public void stop() throws IOException {
        stopping = true;
        serverSocket.close();
        handlers.shutdownNow();
        for (Splice splice : openSplices) {
            splice.close();
        }
        // Reset rather than end cleanly: a peer must not take a stop for the end of what it was sent.
        for (Socket socket : openSockets) {
            Splice.abort(socket);
        }
        try {
            acceptThread.join(TimeUnit.SECONDS.toMillis(5));
            handlers.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void acceptConnections() {
        while (!stopping) {
            Socket connection;
            try {
                connection = serverSocket.accept();
            } catch (IOException e) {
                if (!stopping) {
                    LOG.log(Level.SEVERE, "accepting connections from other agents failed", e);
                }
                return;
            }
            openSockets.add(connection);
            try {
                handlers.execute(() -> serve(connection));
            } catch (RejectedExecutionException e) {
                LOG.warning("refused a connection from " + WireFormat.describe(connection) + ": "
                        + (stopping ? "stopping" : "all " + HANDLER_THREADS + " handlers are busy and as many wait"));
                release(connection);
            }
        }
    }

    /** Whatever happens while handling the request, even an Error, the connection is closed: a source never waits on it. */
    private void serve(Socket connection) {
        try {
            handle(connection);
        } finally {
            release(connection);
        }
    }

    private void handle(Socket connection) {
        String peer = WireFormat.describe(connection);
        byte[] requestLine = null;
        try {
            connection.setTcpNoDelay(true);
            String nonce = WireFormat.newNonce();
            WireFormat.writeGreeting(connection.getOutputStream(), nonce);
            MessageReader reader = new MessageReader(connection);
            MessageReader.Message message = reader.read(System.nanoTime() + requestTimeout.toNanos());
            requestLine = message.line();
            byte[] secret = authenticator.open(message.credential(), requestLine);
            ObjectNode request = WireFormat.parse(requestLine);
            checkVersion(request);
            String name = WireFormat.text(request, WireFormat.REQUEST_FIELD);
            String kind = WireFormat.text(request, WireFormat.KIND_FIELD);
            checkAddressedHere(request, nonce);
            ObjectNode fields = request.deepCopy();
            fields.remove(ENVELOPE);
            String inReplyTo = WireFormat.sha256Hex(requestLine);
            switch (kind) {
                case "call" -> reply(connection, ok(handler.call(name, fields), inReplyTo));
                case "receive" -> receive(connection, reader, name, fields, inReplyTo);
                case "pipe" -> pipe(connection, reader, name, fields, inReplyTo, secret);
                default -> throw new MalformedMessageException("\"kind\" must be call, receive or pipe, not \"" + kind + "\"");
            }
        } catch (PeerAuthenticationException e) {
            refuse(connection, peer, requestLine, NOT_AUTHENTICATED, e.getMessage());
        } catch (MalformedMessageException e) {
            refuse(connection, peer, requestLine, MALFORMED, e.getMessage());
        } catch (PeerRequestException e) {
            refuse(connection, peer, requestLine, e.code(), e.getMessage());
        } catch (EOFException e) {
            LOG.fine(() -> peer + " connected and sent nothing");
        } catch (SocketTimeoutException e) {
            LOG.warning("refused a request from " + peer + ": no complete request within " + requestTimeout.toMillis() + " ms");
        } catch (IOException e) {
            if (!stopping) {
                LOG.warning("a request from " + peer + " failed: " + e.getMessage());
            }
        } catch (RuntimeException e) {
            LOG.log(Level.SEVERE, "a request from " + peer + " failed unexpectedly", e);
            refuse(connection, peer, requestLine, INTERNAL, "the agent failed: " + e);
        }
    }

    private static void checkVersion(ObjectNode request) throws MalformedMessageException, PeerRequestException {
        JsonNode version = request.get(WireFormat.VERSION_FIELD);
        if (version == null || !version.isIntegralNumber()) {
            throw new MalformedMessageException("\"version\" must be an integer");
        }
        if (!version.canConvertToInt() || version.intValue() != WireFormat.VERSION) {
            throw new PeerRequestException(UNSUPPORTED_VERSION,
                    "protocol version " + version + " is not spoken here; this agent speaks version " + WireFormat.VERSION);
        }
    }

    /**
     * A sealed request is good for one node and one connection: a copy captured on the network and
     * played to another node, or to this one again, names another target or an old nonce.
     */
    private void checkAddressedHere(ObjectNode request, String nonce) throws MalformedMessageException, PeerRequestException {
        String from = WireFormat.text(request, WireFormat.FROM_FIELD);
        String to = WireFormat.text(request, WireFormat.TO_FIELD);
        if (!to.equals(nodeName)) {
            throw new PeerRequestException(WRONG_NODE, "the request from " + from + " is for " + to + ", this is " + nodeName);
        }
        if (!WireFormat.text(request, WireFormat.NONCE_FIELD).equals(nonce)) {
            throw new PeerRequestException(WRONG_NONCE, "the request from " + from + " does not carry this connection's nonce");
        }
    }

    private void receive(Socket connection, MessageReader reader, String name, ObjectNode fields, String inReplyTo)
            throws IOException, PeerRequestException, PeerAuthenticationException {
        connection.setSoTimeout((int) requestTimeout.toMillis());
        BodyDigest digest = new BodyDigest();
        InputStream body = digest.reading(reader.rest());
        ObjectNode handled;
        try {
            handled = handler.receive(name, fields, body);
        } catch (IOException e) {
            // The client waits for a reply; if it is the connection that failed, the reply is lost too.
            throw new PeerRequestException(INTERNAL, "receiving the body of " + name + " failed: " + e.getMessage());
        }
        ObjectNode reply = ok(handled, inReplyTo);
        // What the handler left unread (the padding after a tar archive's end) still counts: the
        // digest must cover every byte the client sent.
        body.transferTo(OutputStream.nullOutputStream());
        reply.put(WireFormat.SHA256_FIELD, digest.sha256Hex());
        reply.put(WireFormat.BYTES_FIELD, digest.bytes());
        reply(connection, reply);
    }

    private void pipe(Socket connection, MessageReader reader, String name, ObjectNode fields, String inReplyTo, byte[] key)
            throws IOException, PeerRequestException, PeerAuthenticationException {
        if (key.length != FrameMac.KEY_BYTES) {
            throw new MalformedMessageException("a pipe request must seal a " + FrameMac.KEY_BYTES + "-byte relay key, not "
                    + key.length + " bytes");
        }
        PageCompression compression;
        try {
            compression = PageCompression.fromWireName(fields.path(WireFormat.COMPRESSION_FIELD).asText(PageCompression.NONE.wireName()));
        } catch (IllegalArgumentException e) {
            throw new PeerRequestException(MALFORMED, e.getMessage());
        }
        // The handler gets the request's own fields only, as for a call: the compression is the relay's.
        fields.remove(WireFormat.COMPRESSION_FIELD);
        CompletableFuture<SocketChannel> pending = handler.pipe(name, fields);
        reply(connection, ok(WireFormat.JSON.createObjectNode(), inReplyTo));
        SocketChannel local;
        try {
            local = pending.get(PIPE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting to relay for " + name, e);
        } catch (ExecutionException | TimeoutException e) {
            pending.thenAccept(PeerServer::closeQuietly);
            throw new IOException("the relay for " + name + " has nothing to join: " + (e instanceof TimeoutException
                    ? "nothing came within " + PIPE_WAIT.toMinutes() + " min" : e.getCause().getMessage()), e);
        }
        Splice splice = new Splice(connection.getChannel(), reader.takeReadAhead(), local, ByteBuffer.allocate(0),
                PageCompression.receivingPump(new FrameMac(key, FrameMac.Direction.TO_TARGET)),
                PageCompression.NONE.sendingPump(new FrameMac(key, FrameMac.Direction.TO_SOURCE)));
        openSplices.add(splice);
        try {
            connection.setSoTimeout(0);
            connection.setKeepAlive(true);
            splice.start("lifeboat-peer-pipe");
            // The handler thread stays with its relay, so relays count against HANDLER_THREADS.
            splice.awaitEnd(RELAY_STALL_LIMIT);
            LOG.info("relay for " + name + " from " + WireFormat.describe(connection) + " finished: "
                    + splice.bytesFirstToSecond() + " bytes in (" + splice.wireBytesFirstToSecond() + " on the link, "
                    + compression.wireName() + "), " + splice.bytesSecondToFirst() + " bytes out");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while relaying for " + name, e);
        } finally {
            splice.close();
            openSplices.remove(splice);
        }
    }

    private static ObjectNode ok(ObjectNode fields, String inReplyTo) {
        return ServerReplies.ok(fields, inReplyTo);
    }

    private void reply(Socket connection, ObjectNode reply) throws IOException, PeerAuthenticationException {
        WireFormat.write(connection.getOutputStream(), authenticator, reply);
    }

    /** Logs the refusal, sends the error reply if the connection still takes one, and lingers for it to arrive. */
    private void refuse(Socket connection, String peer, byte[] requestLine, String code, String message) {
        LOG.warning("refused a request from " + peer + ": " + code + ": " + message);
        ObjectNode reply = ServerReplies.error(requestLine, code, message);
        try {
            reply(connection, reply);
            connection.shutdownOutput();
            ServerReplies.lingerAfterError(connection);
        } catch (PeerAuthenticationException e) {
            LOG.severe("cannot seal the error reply to " + peer + ": " + e.getMessage());
        } catch (IOException e) {
            LOG.fine(() -> "the error reply to " + peer + " was not delivered: " + e.getMessage());
        }
    }

    private void release(Socket socket) {
        openSockets.remove(socket);
        closeQuietly(socket);
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            LOG.fine(() -> "closing a relay's local end failed: " + e.getMessage());
        }
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            LOG.fine(() -> "closing a connection failed: " + e.getMessage());
        }
    }
}
