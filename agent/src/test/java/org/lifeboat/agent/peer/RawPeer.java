package org.lifeboat.agent.peer;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A client that sends whatever bytes a test wants, to see how the server copes with them. */
final class RawPeer implements AutoCloseable {

    private final Socket socket = new Socket();
    private final String nonce;

    /** Connects and reads the server's greeting, byte by byte so that nothing after it is consumed. */
    RawPeer(InetSocketAddress server) throws IOException {
        socket.connect(server, 5_000);
        socket.setSoTimeout(10_000);
        ByteArrayOutputStream greeting = new ByteArrayOutputStream();
        for (int next = socket.getInputStream().read(); next != '\n'; next = socket.getInputStream().read()) {
            if (next < 0) {
                throw new IOException("the server closed before greeting: " + greeting);
            }
            greeting.write(next);
        }
        nonce = WireFormat.nonceOf(greeting.toByteArray());
    }

    /** The nonce this connection was greeted with. */
    String nonce() {
        return nonce;
    }

    /** A request line as PeerClient writes it: from node1 to node2, with this connection's nonce, then the extra members. */
    String request(String name, String kind, String extraMembers) {
        return "{\"version\":" + WireFormat.VERSION + ",\"request\":\"" + name + "\",\"kind\":\"" + kind
                + "\",\"from\":\"node1\",\"to\":\"node2\",\"nonce\":\"" + nonce + "\"" + extraMembers + "}";
    }

    RawPeer send(byte[] bytes) throws IOException {
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
        return this;
    }

    /** The credential line, then the line, each with its newline. */
    RawPeer send(String credential, String line) throws IOException {
        return send((credential + "\n" + line + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /** The line sealed by this authenticator, as a real client would send it. */
    RawPeer sendSealed(PeerAuthenticator authenticator, String line) throws IOException, PeerAuthenticationException {
        return send(authenticator.seal(line.getBytes(StandardCharsets.UTF_8)), line);
    }

    void halfClose() throws IOException {
        socket.shutdownOutput();
    }

    /** Reads everything until the server closes, expects a message, verifies it and returns its JSON. */
    ObjectNode reply(PeerAuthenticator authenticator) throws IOException, PeerAuthenticationException {
        String[] lines = readToEnd().split("\n", -1);
        if (lines.length != 3 || !lines[2].isEmpty()) {
            throw new IOException("not one message: " + String.join("\\n", lines));
        }
        authenticator.verify(lines[0], lines[1].getBytes(StandardCharsets.UTF_8));
        return WireFormat.parse(lines[1].getBytes(StandardCharsets.UTF_8));
    }

    /** Everything the server sends until it closes the connection. */
    String readToEnd() throws IOException {
        InputStream in = socket.getInputStream();
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        in.transferTo(received);
        return received.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
