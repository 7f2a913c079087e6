package org.lifeboat.agent.peer;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * How the bytes of a relay travel from the source agent to the target agent: as they are, or
 * compressed with LZ4. A job's memory is often far from random (zeroed buffers, sparse arrays,
 * repeated values); LZ4 compresses and expands at more than a GB/s per core, so on a link slower
 * than that the compressible part of the memory crosses in a fraction of its time, while chunks
 * that do not compress are stored as they are and cost little more than a copy.
 *
 * <p>With LZ4 each chunk read from CRIU becomes one frame: two 4-byte big-endian lengths, the
 * chunk's own ({@code 1..}{@value WireFormat#BUFFER_BYTES}) and the frame body's
 * ({@code 1..}chunk length), then the body: the LZ4 block, or the chunk itself when the two lengths
 * are equal. A chunk is sent as soon as it is read, never held back for more: CRIU's page server
 * answers a flush and CRIU waits for the answer, so a buffered request would stall both.
 */
public enum PageCompression {
    NONE,
    LZ4;

    private static final int FRAME_HEADER_BYTES = 8;
    // The JNI build when it loads on this machine, else the pure-Java one: both write the same blocks.
    private static final LZ4Factory FACTORY = LZ4Factory.fastestInstance();

    /** The name in the config and on the wire. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The compression named {@code name}; an {@link IllegalArgumentException} names the ones there are. */
    public static PageCompression fromWireName(String name) {
        for (PageCompression compression : values()) {
            if (compression.wireName().equals(name)) {
                return compression;
            }
        }
        throw new IllegalArgumentException("unknown page compression '" + name + "' (known: none, lz4)");
    }

    /** Moves the bytes of one direction of a relay; {@code alreadyRead} holds bytes read from {@code in} before. */
    interface Pump {
        void pump(SocketChannel in, ByteBuffer alreadyRead, SocketChannel out, Counters counters) throws IOException;
    }

    /** What a pump has moved: the bytes as they were given to it, and as they crossed the link. */
    static final class Counters {
        final AtomicLong payload = new AtomicLong();
        final AtomicLong wire = new AtomicLong();
    }

    /** Copies the bytes as they are. */
    static final Pump COPY = (in, alreadyRead, out, counters) -> {
        count(counters, writeFully(out, alreadyRead));
        ByteBuffer buffer = ByteBuffer.allocateDirect(WireFormat.BUFFER_BYTES);
        while (in.read(buffer) >= 0) {
            buffer.flip();
            count(counters, writeFully(out, buffer));
            buffer.clear();
        }
    };

    /** The pump on the sending side: {@link #COPY} without compression. */
    Pump compressingPump() {
        return this == NONE ? COPY : PageCompression::compress;
    }

    /** The pump on the receiving side: {@link #COPY} without compression. */
    Pump expandingPump() {
        return this == NONE ? COPY : PageCompression::expand;
    }

    private static void compress(SocketChannel in, ByteBuffer alreadyRead, SocketChannel out, Counters counters) throws IOException {
        LZ4Compressor compressor = FACTORY.fastCompressor();
        ByteBuffer chunk = ByteBuffer.allocateDirect(WireFormat.BUFFER_BYTES);
        ByteBuffer frame = ByteBuffer.allocateDirect(FRAME_HEADER_BYTES + compressor.maxCompressedLength(WireFormat.BUFFER_BYTES));
        while (true) {
            if (alreadyRead.hasRemaining()) {
                int length = Math.min(alreadyRead.remaining(), chunk.remaining());
                chunk.put(alreadyRead.slice(alreadyRead.position(), length));
                alreadyRead.position(alreadyRead.position() + length);
            } else if (in.read(chunk) < 0) {
                return;
            }
            chunk.flip();
            int length = chunk.remaining();
            if (length == 0) {
                chunk.clear();
                continue;
            }
            int compressed = compressor.compress(chunk, 0, length, frame, FRAME_HEADER_BYTES, frame.capacity() - FRAME_HEADER_BYTES);
            frame.clear();
            frame.putInt(length);
            if (compressed < length) {
                frame.putInt(compressed);
                frame.limit(FRAME_HEADER_BYTES + compressed);
                frame.position(0);
            } else {
                frame.putInt(length);
                frame.flip();
            }
            counters.wire.addAndGet(writeFully(out, frame));
            if (compressed >= length) {
                counters.wire.addAndGet(writeFully(out, chunk));
            }
            // Counted once it is out, so the count shows progress across the link.
            counters.payload.addAndGet(length);
            chunk.clear();
        }
    }

    private static void expand(SocketChannel in, ByteBuffer alreadyRead, SocketChannel out, Counters counters) throws IOException {
        LZ4SafeDecompressor decompressor = FACTORY.safeDecompressor();
        ByteBuffer header = ByteBuffer.allocate(FRAME_HEADER_BYTES);
        ByteBuffer body = ByteBuffer.allocateDirect(WireFormat.BUFFER_BYTES);
        ByteBuffer chunk = ByteBuffer.allocateDirect(WireFormat.BUFFER_BYTES);
        while (readFully(in, alreadyRead, header, true)) {
            header.flip();
            int length = header.getInt();
            int bodyLength = header.getInt();
            header.clear();
            if (length < 1 || length > WireFormat.BUFFER_BYTES || bodyLength < 1 || bodyLength > length) {
                throw new IOException("malformed LZ4 frame: chunk length " + length + ", body length " + bodyLength);
            }
            body.clear().limit(bodyLength);
            readFully(in, alreadyRead, body, false);
            body.flip();
            ByteBuffer expanded = body;
            if (bodyLength < length) {
                int written;
                try {
                    written = decompressor.decompress(body, 0, bodyLength, chunk, 0, length);
                } catch (LZ4Exception e) {
                    throw new IOException("malformed LZ4 frame: " + e.getMessage(), e);
                }
                if (written != length) {
                    throw new IOException("malformed LZ4 frame: " + written + " bytes expanded, " + length + " announced");
                }
                expanded = chunk.clear().limit(length);
            }
            counters.wire.addAndGet(FRAME_HEADER_BYTES + bodyLength);
            counters.payload.addAndGet(writeFully(out, expanded));
        }
    }

    /**
     * Fills {@code buffer}, first from {@code alreadyRead}, then from the channel.
     *
     * @return false if the stream ended before the first byte and {@code endAllowed}
     * @throws EOFException the stream ended inside the buffer
     */
    private static boolean readFully(SocketChannel in, ByteBuffer alreadyRead, ByteBuffer buffer, boolean endAllowed) throws IOException {
        boolean started = false;
        while (buffer.hasRemaining()) {
            if (alreadyRead.hasRemaining()) {
                int length = Math.min(alreadyRead.remaining(), buffer.remaining());
                buffer.put(alreadyRead.slice(alreadyRead.position(), length));
                alreadyRead.position(alreadyRead.position() + length);
            } else if (in.read(buffer) < 0) {
                if (!started && endAllowed) {
                    return false;
                }
                throw new EOFException("the relay's stream ended inside an LZ4 frame");
            }
            started = true;
        }
        return true;
    }

    private static void count(Counters counters, int bytes) {
        counters.payload.addAndGet(bytes);
        counters.wire.addAndGet(bytes);
    }

    private static int writeFully(SocketChannel out, ByteBuffer bytes) throws IOException {
        int length = bytes.remaining();
        while (bytes.hasRemaining()) {
            out.write(bytes);
        }
        return length;
    }
}
