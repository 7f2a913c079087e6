package org.lifeboat.agent.peer;

import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * The SHA-256 and length of a body as it passes, on both ends of an upload: equal figures on both
 * ends mean nothing was lost or changed in between. The streams it wraps ignore close(), so code
 * handed a body cannot close the connection under the protocol.
 */
final class BodyDigest {

    private final MessageDigest digest = WireFormat.sha256();
    private long bytes;

    InputStream reading(InputStream in) {
        return new FilterInputStream(in) {
            @Override
            public int read() throws IOException {
                int next = in.read();
                if (next >= 0) {
                    digest.update((byte) next);
                    bytes++;
                }
                return next;
            }

            @Override
            public int read(byte[] target, int offset, int length) throws IOException {
                int read = in.read(target, offset, length);
                if (read > 0) {
                    digest.update(target, offset, read);
                    bytes += read;
                }
                return read;
            }

            @Override
            public long skip(long n) throws IOException {
                // Skipped bytes must be digested too: read them.
                return Math.max(0, read(new byte[(int) Math.min(n, WireFormat.BUFFER_BYTES)]));
            }

            @Override
            public boolean markSupported() {
                return false;
            }

            @Override
            public void close() {
                // The connection outlives the body; the server closes it.
            }
        };
    }

    OutputStream writing(OutputStream out) {
        return new FilterOutputStream(out) {
            @Override
            public void write(int b) throws IOException {
                out.write(b);
                digest.update((byte) b);
                bytes++;
            }

            @Override
            public void write(byte[] source, int offset, int length) throws IOException {
                out.write(source, offset, length);
                digest.update(source, offset, length);
                bytes += length;
            }

            @Override
            public void close() throws IOException {
                // The connection outlives the body: the client half-closes it after the writer returns.
                out.flush();
            }
        };
    }

    long bytes() {
        return bytes;
    }

    /** The digest so far, in hex; call once, at the end of the body. */
    String sha256Hex() {
        return HexFormat.of().formatHex(digest.digest());
    }
}
