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
 * How the bytes of a relay travel between the agents: in frames, compressed with LZ4 or not, each
 * with a MAC (see {@link FrameMac}). A job's memory is often far from random (zeroed buffers, sparse
 * arrays, repeated values); LZ4 compresses and expands at more than a GB/s per core, so on a link
 * slower than that the compressible part of the memory crosses in a fraction of its time, while
 * chunks that do not compress are stored as they are and cost little more than a copy.
 *
 * <p>Each chunk read from one side becomes one frame: two 4-byte big-endian lengths, the chunk's own
 * ({@code 1..}{@value WireFormat#BUFFER_BYTES}) and the frame body's ({@code 1..}chunk length), the
 * body (the LZ4 block, or the chunk itself when the two lengths are equal), then the
 * {@value FrameMac#TAG_BYTES}-byte tag. A frame whose lengths are both 0 ends the stream: a stream
 * that stops without it was cut, not finished. The receiver checks each tag before it expands or
 * passes on anything of the frame. A chunk is sent as soon as it is read, never held back for more:
 * CRIU's page server answers a flush and CRIU waits for the answer, so a buffered request would
 * stall both.
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

    /** The pump on the sending side of one direction: frames, compressed if this says so, each signed by {@code mac}. */
    Pump sendingPump(FrameMac mac) {
        return (in, alreadyRead, out, counters) -> send(in, alreadyRead, out, counters, mac);
    }

    /** The pump on the receiving side of one direction: checks each frame's tag, then expands it if it was compressed. */
    static Pump receivingPump(FrameMac mac) {
        return (in, alreadyRead, out, counters) -> receive(in, alreadyRead, out, counters, mac);
    }

    private void send(SocketChannel in, ByteBuffer alreadyRead, SocketChannel out, Counters counters, FrameMac mac) throws IOException {
        LZ4Compressor compressor = this == LZ4 ? FACTORY.fastCompressor() : null;
        ByteBuffer chunk = ByteBuffer.allocateDirect(WireFormat.BUFFER_BYTES);
        ByteBuffer compressed = compressor == null ? null
                : ByteBuffer.allocateDirect(compressor.maxCompressedLength(WireFormat.BUFFER_BYTES));
        ByteBuffer header = ByteBuffer.allocate(FRAME_HEADER_BYTES);
        ByteBuffer tag = ByteBuffer.allocate(FrameMac.TAG_BYTES);
        while (true) {
            if (alreadyRead.hasRemaining()) {
                int length = Math.min(alreadyRead.remaining(), chunk.remaining());
                chunk.put(alreadyRead.slice(alreadyRead.position(), length));
                alreadyRead.position(alreadyRead.position() + length);
            } else if (in.read(chunk) < 0) {
                break;
            }
            chunk.flip();
            int length = chunk.remaining();
            if (length == 0) {
                chunk.clear();
                continue;
            }
            ByteBuffer body = chunk;
            if (compressor != null) {
                int size = compressor.compress(chunk, 0, length, compressed, 0, compressed.capacity());
                if (size < length) {
                    body = compressed.clear().limit(size);
                }
            }
            counters.wire.addAndGet(writeFrame(out, header, body, tag, length, mac));
            // Counted once it is out, so the count shows progress across the link.
            counters.payload.addAndGet(length);
            chunk.clear();
        }
        counters.wire.addAndGet(writeFrame(out, header, ByteBuffer.allocate(0), tag, 0, mac));
    }

    private static long writeFrame(SocketChannel out, ByteBuffer header, ByteBuffer body, ByteBuffer tag, int chunkLength, FrameMac mac)
            throws IOException {
        header.clear().putInt(chunkLength).putInt(body.remaining()).flip();
        tag.clear();
        mac.sign(header, body, tag);
        tag.flip();
        ByteBuffer[] frame = {header, body, tag};
        long length = header.remaining() + body.remaining() + tag.remaining();
        // One gathering write: a frame's three parts leave in one system call.
        for (long left = length; left > 0; left -= out.write(frame)) {
            // The socket took part of the frame; write the rest.
        }
        return length;
    }

    private static void receive(SocketChannel in, ByteBuffer alreadyRead, SocketChannel out, Counters counters, FrameMac mac)
            throws IOException {
        LZ4SafeDecompressor decompressor = FACTORY.safeDecompressor();
        ByteBuffer header = ByteBuffer.allocate(FRAME_HEADER_BYTES);
        ByteBuffer body = ByteBuffer.allocateDirect(WireFormat.BUFFER_BYTES);
        ByteBuffer chunk = ByteBuffer.allocateDirect(WireFormat.BUFFER_BYTES);
        ByteBuffer tag = ByteBuffer.allocate(FrameMac.TAG_BYTES);
        while (true) {
            header.clear();
            if (!readFully(in, alreadyRead, header, true)) {
                throw new EOFException("the relay's stream ended without its end frame: it was cut");
            }
            header.flip();
            int length = header.getInt(0);
            int bodyLength = header.getInt(4);
            boolean end = length == 0 && bodyLength == 0;
            if (!end && (length < 1 || length > WireFormat.BUFFER_BYTES || bodyLength < 1 || bodyLength > length)) {
                throw new IOException("malformed relay frame: chunk length " + length + ", body length " + bodyLength);
            }
            body.clear().limit(bodyLength);
            readFully(in, alreadyRead, body, false);
            body.flip();
            tag.clear();
            readFully(in, alreadyRead, tag, false);
            tag.flip();
            // Before anything of the frame is expanded or passed on.
            mac.check(header, body, tag);
            counters.wire.addAndGet(FRAME_HEADER_BYTES + bodyLength + FrameMac.TAG_BYTES);
            if (end) {
                return;
            }
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
                throw new EOFException("the relay's stream ended inside a frame");
            }
            started = true;
        }
        return true;
    }

    private static int writeFully(SocketChannel out, ByteBuffer bytes) throws IOException {
        int length = bytes.remaining();
        while (bytes.hasRemaining()) {
            out.write(bytes);
        }
        return length;
    }
}
