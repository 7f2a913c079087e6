package org.lifeboat.agent.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.channels.SocketChannel;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Talks to another agent's {@link PeerServer}, one connection per request; the class comment of
 * {@link PeerServer} describes the protocol. Every reply is verified before it is believed.
 */
public final class PeerClient {

    /**
     * Connecting to a live agent takes milliseconds on a cluster's network; one that cannot be reached would
     * otherwise hold the caller for the kernel's SYN retries (over two minutes), e.g. a rollback telling a target
     * behind a cut link to discard its part after the job already runs again.
     */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final InetSocketAddress peer;
    private final String localNode;
    private final String peerNode;
    private final PeerAuthenticator authenticator;
    private final Duration timeout;
    private final PageCompression relayCompression;

    /**
     * @param localNode this node's name and {@code peerNode} the peer's, which every request names:
     *     the peer refuses a request for another node
     * @param timeout how long the peer may take to reply once the request (and its body) has been sent;
     *     connecting may take this or {@link #CONNECT_TIMEOUT}, whichever is shorter
     * @param relayCompression how a {@link #relay} compresses what it sends to the peer
     */
    public PeerClient(InetSocketAddress peer, String localNode, String peerNode, PeerAuthenticator authenticator, Duration timeout,
                      PageCompression relayCompression) {
        this.peer = Objects.requireNonNull(peer, "peer");
        this.localNode = Objects.requireNonNull(localNode, "localNode");
        this.peerNode = Objects.requireNonNull(peerNode, "peerNode");
        this.authenticator = Objects.requireNonNull(authenticator, "authenticator");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.relayCompression = Objects.requireNonNull(relayCompression, "relayCompression");
    }

    /** Where a body comes from: writes it whole to {@code out}, which must not be closed (closing it only flushes). */
    @FunctionalInterface
    public interface BodyWriter {
        void writeTo(OutputStream out) throws IOException;
    }

    /**
     * The fields the peer's handler put into a reply: the reply without its envelope (version, status,
     * in-reply-to), to read strictly as the request's own reply.
     */
    public static ObjectNode handlerFields(ObjectNode reply) {
        ObjectNode fields = reply.deepCopy();
        fields.remove(List.of(WireFormat.VERSION_FIELD, WireFormat.STATUS_FIELD, WireFormat.IN_REPLY_TO_FIELD));
        return fields;
    }

    /**
     * A control request.
     *
     * @return the verified ok reply, envelope included
     * @throws PeerRequestException the peer replied with an error; its code is the peer's
     * @throws IOException the peer could not be reached, did not reply in time, or replied with
     *     something that is not an authentic reply to this request
     */
    public ObjectNode call(String request, ObjectNode fields) throws IOException, PeerRequestException {
        try (Socket socket = connect()) {
            MessageReader reader = new MessageReader(socket);
            byte[] requestLine = sendRequest(socket, reader, request, "call", fields);
            return readReply(reader, requestLine);
        }
    }

    /**
     * An upload: the request, then the body the writer produces. Succeeds only if the peer confirms
     * having received exactly the bytes sent (same length and SHA-256).
     *
     * @return the verified ok reply, with the peer's {@code sha256} and {@code bytes}
     * @throws IOException as for {@link #call}, and when the body arrived truncated or altered
     */
    public ObjectNode send(String request, ObjectNode fields, BodyWriter writer) throws IOException, PeerRequestException {
        try (Socket socket = connect()) {
            MessageReader reader = new MessageReader(socket);
            byte[] requestLine = sendRequest(socket, reader, request, "receive", fields);
            TrackedOutput connection = new TrackedOutput(socket.getOutputStream());
            BodyDigest sent = new BodyDigest();
            try {
                OutputStream body = sent.writing(new BufferedOutputStream(connection, WireFormat.BUFFER_BYTES));
                writer.writeTo(body);
                body.flush();
            } catch (IOException e) {
                if (!connection.failed) {
                    // The body could not be produced here. Reset the connection rather than end it
                    // cleanly, so the peer cannot take what it got for a whole body.
                    socket.setSoLinger(true, 0);
                    throw e;
                }
                // The peer stopped reading: it may have refused the request and said why.
                throw refusalOr(reader, requestLine, e);
            }
            socket.shutdownOutput();
            ObjectNode reply = readReply(reader, requestLine);
            String sha256 = sent.sha256Hex();
            JsonNode receivedSha256 = reply.get(WireFormat.SHA256_FIELD);
            JsonNode receivedBytes = reply.get(WireFormat.BYTES_FIELD);
            if (receivedSha256 == null || !sha256.equals(receivedSha256.asText())
                    || receivedBytes == null || receivedBytes.asLong(-1) != sent.bytes()) {
                throw new IOException("the body of " + request + " did not arrive intact at " + describePeer() + ": sent "
                        + sent.bytes() + " bytes with SHA-256 " + sha256 + ", the peer received " + receivedBytes
                        + " bytes with SHA-256 " + receivedSha256);
            }
            return reply;
        }
    }

    /**
     * Starts relaying CRIU page-server traffic to the peer: the peer has accepted the request and
     * connected to its local end when this returns. Point {@code criu dump --page-server} at
     * 127.0.0.1 and {@link PageRelay#port()}.
     *
     * @param dumperUid the uid CRIU dumps as (the job's owner): the only one whose connection the relay takes
     */
    public PageRelay relay(String request, ObjectNode fields, int dumperUid) throws IOException, PeerRequestException {
        Socket socket = connect();
        try {
            ObjectNode withCompression = fields.deepCopy();
            withCompression.put(WireFormat.COMPRESSION_FIELD, relayCompression.wireName());
            MessageReader reader = new MessageReader(socket);
            // The relay's frames are signed with a key drawn for this relay alone, which reaches the peer sealed.
            byte[] key = new byte[FrameMac.KEY_BYTES];
            RANDOM.nextBytes(key);
            byte[] requestLine = sendRequest(socket, reader, request, "pipe", withCompression, key);
            readReply(reader, requestLine);
            // CRIU may pause between writes for as long as it likes; keepalive notices a dead peer.
            socket.setSoTimeout(0);
            socket.setKeepAlive(true);
            return PageRelay.start(socket, reader.takeReadAhead(), request, relayCompression, key, dumperUid);
        } catch (IOException | PeerRequestException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    private Socket connect() throws IOException {
        // Through a channel, which a relay needs (see Splice); its socket serves everything else.
        Socket socket = SocketChannel.open().socket();
        try {
            socket.connect(peer, (int) Math.min(timeout.toMillis(), CONNECT_TIMEOUT.toMillis()));
            socket.setTcpNoDelay(true);
        } catch (IOException e) {
            socket.close();
            throw new IOException("cannot connect to the agent at " + describePeer() + ": " + e.getMessage(), e);
        }
        return socket;
    }

    /** Sends the request once the peer has greeted, addressed to the peer and sealed with its nonce. */
    private byte[] sendRequest(Socket socket, MessageReader reader, String request, String kind, ObjectNode fields) throws IOException {
        return sendRequest(socket, reader, request, kind, fields, PeerAuthenticator.NO_SECRET);
    }

    private byte[] sendRequest(Socket socket, MessageReader reader, String request, String kind, ObjectNode fields, byte[] secret)
            throws IOException {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(fields, "fields");
        String nonce;
        try {
            nonce = WireFormat.nonceOf(reader.readGreeting(System.nanoTime() + timeout.toNanos()));
        } catch (SocketTimeoutException e) {
            throw new IOException("the agent at " + describePeer() + " did not reply within " + timeout.toMillis() + " ms", e);
        } catch (EOFException e) {
            throw new IOException("the agent at " + describePeer() + " closed the connection without a greeting", e);
        }
        ObjectNode message = WireFormat.JSON.createObjectNode();
        message.put(WireFormat.VERSION_FIELD, WireFormat.VERSION);
        message.put(WireFormat.REQUEST_FIELD, request);
        message.put(WireFormat.KIND_FIELD, kind);
        message.put(WireFormat.FROM_FIELD, localNode);
        message.put(WireFormat.TO_FIELD, peerNode);
        message.put(WireFormat.NONCE_FIELD, nonce);
        fields.fieldNames().forEachRemaining(name -> {
            if (message.has(name)) {
                throw new IllegalArgumentException("\"" + name + "\" is part of the envelope, not a request field");
            }
        });
        message.setAll(fields);
        try {
            return WireFormat.write(socket.getOutputStream(), authenticator, message, secret);
        } catch (PeerAuthenticationException e) {
            throw new IOException("cannot seal the request " + request + " to " + describePeer() + ": " + e.getMessage(), e);
        }
    }

    /** The verified reply to the request whose line 2 was {@code requestLine}, if it is ok. */
    private ObjectNode readReply(MessageReader reader, byte[] requestLine) throws IOException, PeerRequestException {
        MessageReader.Message message;
        try {
            message = reader.read(System.nanoTime() + timeout.toNanos());
        } catch (SocketTimeoutException e) {
            throw new IOException("the agent at " + describePeer() + " did not reply within " + timeout.toMillis() + " ms", e);
        } catch (EOFException e) {
            throw new IOException("the agent at " + describePeer() + " closed the connection without a reply", e);
        }
        try {
            authenticator.verify(message.credential(), message.line());
        } catch (PeerAuthenticationException e) {
            throw new IOException("the reply from " + describePeer() + " is not authentic: " + e.getMessage(), e);
        }
        ObjectNode reply = WireFormat.parse(message.line());
        if (reply.path(WireFormat.VERSION_FIELD).asInt(-1) != WireFormat.VERSION) {
            throw new MalformedMessageException("the reply from " + describePeer() + " is not version " + WireFormat.VERSION);
        }
        JsonNode inReplyTo = reply.get(WireFormat.IN_REPLY_TO_FIELD);
        String status = WireFormat.text(reply, WireFormat.STATUS_FIELD);
        boolean answersThisRequest = inReplyTo != null && WireFormat.sha256Hex(requestLine).equals(inReplyTo.asText());
        // An error reply may lack in-reply-to (the server could not read the request whole); it can
        // only make a request fail, which anyone who can cut the connection can do anyway.
        if ((inReplyTo != null || status.equals("ok")) && !answersThisRequest) {
            throw new IOException("the reply from " + describePeer() + " answers another request");
        }
        switch (status) {
            case "ok":
                return reply;
            case "error":
                JsonNode error = reply.path(WireFormat.ERROR_FIELD);
                throw new PeerRequestException(error.path("code").asText("unknown"),
                        "the agent at " + describePeer() + " refused: " + error.path("message").asText("no reason given"));
            default:
                throw new MalformedMessageException("the reply from " + describePeer() + " has the unknown status \"" + status + "\"");
        }
    }

    /**
     * Throws the peer's refusal if it sent a valid one before it stopped reading; otherwise returns
     * the write failure, for the caller to throw.
     */
    private IOException refusalOr(MessageReader reader, byte[] requestLine, IOException writeFailure) throws PeerRequestException {
        try {
            readReply(reader, requestLine);
        } catch (PeerRequestException refusal) {
            refusal.addSuppressed(writeFailure);
            throw refusal;
        } catch (IOException e) {
            writeFailure.addSuppressed(e);
        }
        return writeFailure;
    }

    private String describePeer() {
        return peer.getHostString() + ":" + peer.getPort();
    }

    /** The connection's output, remembering whether writing to the connection itself failed. */
    private static final class TrackedOutput extends FilterOutputStream {

        private boolean failed;

        TrackedOutput(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] bytes, int offset, int length) throws IOException {
            try {
                out.write(bytes, offset, length);
            } catch (IOException e) {
                failed = true;
                throw e;
            }
        }

        @Override
        public void flush() throws IOException {
            try {
                out.flush();
            } catch (IOException e) {
                failed = true;
                throw e;
            }
        }
    }
}
