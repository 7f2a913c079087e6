package org.lifeboat.agent.peer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The HMAC-SHA256 of each frame of one direction of a page relay, so that a frame altered,
 * dropped, repeated, reordered or moved to the other direction on the link fails the relay. The
 * key is drawn afresh for each relay by the source and reaches the target only inside the sealed
 * pipe request's credential (see {@link PeerAuthenticator#seal(byte[], byte[])}); the tag covers the
 * direction, the frame's sequence number (counted by both ends, never sent) and the frame's header
 * and body as they cross the link.
 */
final class FrameMac {

    static final int KEY_BYTES = 32;
    static final int TAG_BYTES = 32;

    /** Which way the frames go: each direction has its own sequence, and a frame of one never passes in the other. */
    enum Direction {
        TO_TARGET,
        TO_SOURCE
    }

    private final Mac mac;
    private final byte direction;
    private final ByteBuffer prefix = ByteBuffer.allocate(1 + Long.BYTES);
    private final byte[] expected = new byte[TAG_BYTES];
    private final byte[] received = new byte[TAG_BYTES];
    private long sequence;

    FrameMac(byte[] key, Direction direction) {
        if (key.length != KEY_BYTES) {
            throw new IllegalArgumentException("a relay key has " + KEY_BYTES + " bytes, not " + key.length);
        }
        try {
            mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every Java runtime has HmacSHA256", e);
        }
        this.direction = (byte) direction.ordinal();
    }

    /** Puts the tag of the next frame into {@code tag}; the buffers' positions do not move. */
    void sign(ByteBuffer header, ByteBuffer body, ByteBuffer tag) {
        tag.put(tagOf(header, body));
    }

    /**
     * Checks the tag of the next frame, read from the link.
     *
     * @throws IOException the frame is not the next one the other end sent
     */
    void check(ByteBuffer header, ByteBuffer body, ByteBuffer tag) throws IOException {
        System.arraycopy(tagOf(header, body), 0, expected, 0, TAG_BYTES);
        tag.duplicate().get(received);
        if (!MessageDigest.isEqual(expected, received)) {
            throw new IOException("frame " + (sequence - 1) + " of the page relay failed its integrity check: altered, "
                    + "dropped or replayed on the link");
        }
    }

    private byte[] tagOf(ByteBuffer header, ByteBuffer body) {
        prefix.clear().put(direction).putLong(sequence++).flip();
        mac.update(prefix);
        mac.update(header.duplicate());
        mac.update(body.duplicate());
        return mac.doFinal();
    }
}
