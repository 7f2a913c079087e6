package org.lifeboat.agent.peer;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Reads the two lines of a message from a socket before a deadline, then hands on the rest of the
 * stream (a body or relayed bytes) without losing what it read ahead.
 */
final class MessageReader {

    private final Socket socket;
    private final InputStream input;
    private final byte[] buffer = new byte[16 * 1024];
    private int start;
    private int end;

    MessageReader(Socket socket) throws IOException {
        this.socket = socket;
        this.input = socket.getInputStream();
    }

    /**
     * The next message. The deadline (a {@link System#nanoTime()} value) bounds the whole message,
     * so a peer trickling one byte at a time cannot hold the connection open.
     *
     * @throws EOFException the connection ended before the first byte of a message
     * @throws MalformedMessageException a line is too long or the connection ended inside the message
     * @throws SocketTimeoutException the deadline passed
     */
    Message read(long deadline) throws IOException {
        if (start == end && !fill(deadline)) {
            throw new EOFException("the connection ended before a message");
        }
        String credential = new String(readLine(deadline, "credential", WireFormat.MAX_CREDENTIAL_BYTES), StandardCharsets.US_ASCII);
        return new Message(credential, readLine(deadline, "JSON", WireFormat.MAX_LINE_BYTES));
    }

    /** The server's greeting: one line, before the same deadline rules as a message. */
    byte[] readGreeting(long deadline) throws IOException {
        if (start == end && !fill(deadline)) {
            throw new EOFException("the connection ended before a greeting");
        }
        return readLine(deadline, "greeting", WireFormat.MAX_GREETING_BYTES);
    }

    /** The bytes read ahead after the message, now taken out of this reader; for relaying them. */
    ByteBuffer takeReadAhead() {
        ByteBuffer readAhead = ByteBuffer.wrap(Arrays.copyOfRange(buffer, start, end));
        start = end;
        return readAhead;
    }

    /**
     * Everything after the message, for reading a body: bytes already read ahead, then the socket's
     * own stream. (Not a SequenceInputStream: that closes each stream at its end, and closing a
     * socket's stream closes the socket, which the reply still needs.)
     */
    InputStream rest() {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] target, int offset, int length) throws IOException {
                if (start == end || length == 0) {
                    return input.read(target, offset, length);
                }
                int copied = Math.min(length, end - start);
                System.arraycopy(buffer, start, target, offset, copied);
                start += copied;
                return copied;
            }
        };
    }

    private byte[] readLine(long deadline, String what, int limit) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        while (true) {
            for (int i = start; i < end; i++) {
                if (buffer[i] == '\n') {
                    line.write(buffer, start, i - start);
                    start = i + 1;
                    return checked(line, what, limit).toByteArray();
                }
            }
            line.write(buffer, start, end - start);
            start = end;
            checked(line, what, limit);
            if (!fill(deadline)) {
                throw new MalformedMessageException("the connection ended inside the " + what + " line");
            }
        }
    }

    private static ByteArrayOutputStream checked(ByteArrayOutputStream line, String what, int limit) throws MalformedMessageException {
        if (line.size() > limit) {
            throw new MalformedMessageException("the " + what + " line exceeds " + limit + " bytes");
        }
        return line;
    }

    private boolean fill(long deadline) throws IOException {
        long remainingMillis = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (remainingMillis <= 0) {
            throw new SocketTimeoutException("no complete message in time");
        }
        socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, remainingMillis));
        int read = input.read(buffer);
        if (read < 0) {
            return false;
        }
        start = 0;
        end = read;
        return true;
    }

    /** One message as it arrived: the credential and the bytes of the JSON line it must seal. */
    record Message(String credential, byte[] line) {}
}
