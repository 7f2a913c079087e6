package org.lifeboat.agent.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/** The replies {@link PeerServer} sends (see its class comment for the format), before they are sealed. */
final class ServerReplies {

    private static final Set<String> RESERVED_REPLY_FIELDS = Set.of(WireFormat.VERSION_FIELD, WireFormat.STATUS_FIELD,
            WireFormat.ERROR_FIELD, WireFormat.IN_REPLY_TO_FIELD, WireFormat.SHA256_FIELD, WireFormat.BYTES_FIELD);
    // After an error reply, how long the server keeps reading (and dropping) what the client still
    // sends: closing with unread data resets the connection, and the reset can destroy the reply.
    private static final long LINGER_MILLIS = 5_000;

    private ServerReplies() {}

    /** The ok reply to the request whose line 2 hashed to {@code inReplyTo}, with the handler's fields. */
    static ObjectNode ok(ObjectNode fields, String inReplyTo) {
        ObjectNode reply = WireFormat.JSON.createObjectNode();
        reply.put(WireFormat.VERSION_FIELD, WireFormat.VERSION);
        reply.put(WireFormat.STATUS_FIELD, "ok");
        reply.put(WireFormat.IN_REPLY_TO_FIELD, inReplyTo);
        for (Iterator<Map.Entry<String, JsonNode>> it = fields.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (RESERVED_REPLY_FIELDS.contains(field.getKey())) {
                throw new IllegalStateException("a handler used the reserved reply field \"" + field.getKey() + "\"");
            }
            reply.set(field.getKey(), field.getValue());
        }
        return reply;
    }

    /** An error reply; without {@code in-reply-to} when the request could not be read whole ({@code requestLine} null). */
    static ObjectNode error(byte[] requestLine, String code, String message) {
        ObjectNode reply = WireFormat.JSON.createObjectNode();
        reply.put(WireFormat.VERSION_FIELD, WireFormat.VERSION);
        reply.put(WireFormat.STATUS_FIELD, "error");
        if (requestLine != null) {
            reply.put(WireFormat.IN_REPLY_TO_FIELD, WireFormat.sha256Hex(requestLine));
        }
        ObjectNode error = reply.putObject(WireFormat.ERROR_FIELD);
        error.put("code", code);
        error.put("message", message);
        return reply;
    }

    /** Reads and drops what the client still sends, for a while, so that the error reply is not reset away. */
    static void lingerAfterError(Socket connection) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LINGER_MILLIS);
        InputStream input = connection.getInputStream();
        byte[] discard = new byte[64 * 1024];
        while (true) {
            long remainingMillis = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (remainingMillis <= 0) {
                return;
            }
            connection.setSoTimeout((int) remainingMillis);
            try {
                if (input.read(discard) < 0) {
                    return;
                }
            } catch (SocketTimeoutException e) {
                return;
            }
        }
    }
}
