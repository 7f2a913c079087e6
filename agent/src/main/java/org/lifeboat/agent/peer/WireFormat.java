package org.lifeboat.agent.peer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.json.AgentJson;

/** The framing both ends of the peer protocol share; {@link PeerServer} describes the format. */
final class WireFormat {

    static final int VERSION = 2;
    /**
     * The longest JSON line. The largest message is a prepare: a container manifest of at most
     * {@link ContainerManifest#MAX_BYTES}, written compactly, and a few ids, a mode and the job's
     * network address; 64 KiB covers those many times over. It is read before it is authenticated,
     * so it stays a bound: {@link PeerServer#HANDLER_THREADS} such lines at once fit in the agent's heap.
     */
    static final int MAX_LINE_BYTES = ContainerManifest.MAX_BYTES + 64 * 1024;
    /**
     * The longest credential line. A credential seals a digest and at most a relay key, never the
     * message itself, so it does not grow with the message: MUNGE's is about 300 bytes.
     */
    static final int MAX_CREDENTIAL_BYTES = 4 * 1024;
    /** The longest greeting a client reads: {@code {"version":2,"nonce":N}} is 50 bytes. */
    static final int MAX_GREETING_BYTES = 1024;
    /** Bulk data and relays move in chunks this large: fewer system calls, loopback at GB/s. */
    static final int BUFFER_BYTES = 1024 * 1024;

    static final String VERSION_FIELD = "version";
    static final String REQUEST_FIELD = "request";
    static final String KIND_FIELD = "kind";
    /** On a request: the sending node's name, the receiving node's, and the nonce the receiver greeted with. */
    static final String FROM_FIELD = "from";
    static final String TO_FIELD = "to";
    static final String NONCE_FIELD = "nonce";
    static final String STATUS_FIELD = "status";
    static final String ERROR_FIELD = "error";
    static final String IN_REPLY_TO_FIELD = "in-reply-to";
    static final String SHA256_FIELD = "sha256";
    static final String BYTES_FIELD = "bytes";
    /** On a pipe request: how the client's bytes are compressed (see {@link PageCompression}). */
    static final String COMPRESSION_FIELD = "compression";

    static final ObjectMapper JSON = AgentJson.mapper();
    private static final SecureRandom RANDOM = new SecureRandom();
    // One JSON value per line and nothing after it: trailing text would be data the credential
    // covers but nobody reads.
    private static final ObjectReader STRICT_READER =
            JSON.readerFor(JsonNode.class).with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private WireFormat() {}

    /** Seals the message and writes it as two lines: the credential, then the JSON object, which it returns. */
    static byte[] write(OutputStream out, PeerAuthenticator authenticator, ObjectNode message)
            throws IOException, PeerAuthenticationException {
        return write(out, authenticator, message, PeerAuthenticator.NO_SECRET);
    }

    /** As {@link #write(OutputStream, PeerAuthenticator, ObjectNode)}, sealing a secret into the credential too. */
    static byte[] write(OutputStream out, PeerAuthenticator authenticator, ObjectNode message, byte[] secret)
            throws IOException, PeerAuthenticationException {
        byte[] line = JSON.writeValueAsBytes(message);
        if (line.length > MAX_LINE_BYTES) {
            throw new IOException("a message of " + line.length + " bytes exceeds the limit of " + MAX_LINE_BYTES);
        }
        byte[] credential = authenticator.seal(line, secret).getBytes(StandardCharsets.US_ASCII);
        if (credential.length > MAX_CREDENTIAL_BYTES || indexOf(credential, (byte) '\n') >= 0) {
            throw new PeerAuthenticationException("the authenticator made a credential that does not fit on one line");
        }
        byte[] frame = new byte[credential.length + line.length + 2];
        System.arraycopy(credential, 0, frame, 0, credential.length);
        frame[credential.length] = '\n';
        System.arraycopy(line, 0, frame, credential.length + 1, line.length);
        frame[frame.length - 1] = '\n';
        // One write: the two lines travel in one segment rather than as two.
        out.write(frame);
        out.flush();
        return line;
    }

    /** A fresh nonce for one connection's greeting: 128 random bits, hex. */
    static String newNonce() {
        byte[] nonce = new byte[16];
        RANDOM.nextBytes(nonce);
        return HexFormat.of().formatHex(nonce);
    }

    /**
     * The server's first line on a connection, unsealed: a nonce forged or altered on the way only
     * makes the request fail, which anyone who can cut the connection can do anyway.
     */
    static void writeGreeting(OutputStream out, String nonce) throws IOException {
        ObjectNode greeting = JSON.createObjectNode();
        greeting.put(VERSION_FIELD, VERSION);
        greeting.put(NONCE_FIELD, nonce);
        byte[] line = JSON.writeValueAsBytes(greeting);
        byte[] frame = Arrays.copyOf(line, line.length + 1);
        frame[line.length] = '\n';
        out.write(frame);
        out.flush();
    }

    /** The nonce of a greeting line, which must be exactly {@code {"version":V,"nonce":N}} of this version. */
    static String nonceOf(byte[] greetingLine) throws MalformedMessageException {
        ObjectNode greeting = parse(greetingLine);
        if (greeting.size() != 2 || greeting.path(VERSION_FIELD).asInt(-1) != VERSION || !greeting.path(VERSION_FIELD).isInt()) {
            throw new MalformedMessageException("the greeting is not {\"version\":" + VERSION + ",\"nonce\":…}");
        }
        return text(greeting, NONCE_FIELD);
    }

    /** The line as a JSON object. */
    static ObjectNode parse(byte[] line) throws MalformedMessageException {
        JsonNode node;
        try {
            node = STRICT_READER.readValue(line);
        } catch (JsonProcessingException e) {
            throw new MalformedMessageException("not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new MalformedMessageException("not valid JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw new MalformedMessageException("not a JSON object");
        }
        return (ObjectNode) node;
    }

    /** A field that must be a non-empty string. */
    static String text(ObjectNode message, String field) throws MalformedMessageException {
        JsonNode value = message.get(field);
        if (value == null || !value.isTextual() || value.asText().isEmpty()) {
            throw new MalformedMessageException("\"" + field + "\" must be a non-empty string");
        }
        return value.asText();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    static String sha256Hex(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }

    static String describe(Socket socket) {
        return socket.getInetAddress().getHostAddress() + ":" + socket.getPort();
    }

    private static int indexOf(byte[] bytes, byte wanted) {
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == wanted) {
                return i;
            }
        }
        return -1;
    }
}
