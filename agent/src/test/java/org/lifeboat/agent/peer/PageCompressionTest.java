package org.lifeboat.agent.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class PageCompressionTest {

    private static final int PAGE = 4096;

    @Test
    void halfZeroPagesCrossInLittleMoreThanHalfTheBytes() throws Exception {
        byte[] memory = pages(512, true);

        Carried carried = throughBothPumps(PageCompression.LZ4, memory, ByteBuffer.allocate(0));

        assertArrayEquals(memory, carried.bytes);
        assertEquals(memory.length, carried.sent.payload.get());
        assertEquals(memory.length, carried.received.payload.get());
        assertEquals(carried.sent.wire.get(), carried.received.wire.get(), "both ends count the same frames");
        assertTrue(carried.sent.wire.get() < memory.length * 0.52, carried.sent.wire.get() + " bytes on the link");
    }

    @Test
    void randomPagesAreStoredAsTheyAreWithEightBytesPerChunk() throws Exception {
        byte[] memory = pages(512, false);

        Carried carried = throughBothPumps(PageCompression.LZ4, memory, ByteBuffer.allocate(0));

        assertArrayEquals(memory, carried.bytes);
        long overhead = carried.sent.wire.get() - memory.length;
        assertTrue(overhead > 0 && overhead <= 8L * (memory.length / PAGE), overhead + " bytes of frame headers");
    }

    @Test
    void withoutCompressionTheBytesAreCopied() throws Exception {
        byte[] memory = pages(64, true);

        Carried carried = throughBothPumps(PageCompression.NONE, memory, ByteBuffer.allocate(0));

        assertArrayEquals(memory, carried.bytes);
        assertEquals(memory.length, carried.sent.wire.get());
    }

    @Test
    void bytesReadAheadWithTheRequestAreExpandedFirst() throws Exception {
        // The target's reader may have read the first frames together with the request's lines.
        byte[] memory = pages(16, true);
        byte[] frames = compressed(memory);
        int ahead = frames.length / 3;

        Expanded expanded = expand(ByteBuffer.wrap(frames, 0, ahead), Arrays.copyOfRange(frames, ahead, frames.length));

        assertArrayEquals(memory, expanded.bytes);
    }

    @Test
    void aFrameAnnouncingMoreThanAChunkIsRefused() {
        ByteBuffer frame = ByteBuffer.allocate(8).putInt(WireFormat.BUFFER_BYTES + 1).putInt(10).flip();

        IOException error = assertThrows(IOException.class, () -> expand(ByteBuffer.allocate(0), frame.array()));

        assertEquals("malformed LZ4 frame: chunk length " + (WireFormat.BUFFER_BYTES + 1) + ", body length 10", error.getMessage());
    }

    @Test
    void aBodyThatIsNotLz4IsRefused() {
        byte[] garbage = new byte[100];
        new Random(1).nextBytes(garbage);
        ByteBuffer frame = ByteBuffer.allocate(8 + garbage.length).putInt(4096).putInt(garbage.length).put(garbage).flip();

        IOException error = assertThrows(IOException.class, () -> expand(ByteBuffer.allocate(0), frame.array()));

        assertTrue(error.getMessage().startsWith("malformed LZ4 frame"), error.getMessage());
    }

    @Test
    void aStreamCutInsideAFrameIsAnErrorNotAnEnd() throws Exception {
        byte[] frames = compressed(pages(4, true));

        IOException error = assertThrows(IOException.class,
                () -> expand(ByteBuffer.allocate(0), Arrays.copyOfRange(frames, 0, frames.length - 1)));

        assertEquals(EOFException.class, error.getClass());
    }

    @Test
    void namesAreTheConfigsAndUnknownOnesAreRefused() {
        assertEquals(PageCompression.LZ4, PageCompression.fromWireName("lz4"));
        assertEquals("none", PageCompression.NONE.wireName());
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> PageCompression.fromWireName("zstd"));
        assertEquals("unknown page compression 'zstd' (known: none, lz4)", error.getMessage());
    }

    /** Pages of random bytes, every other one all zeros when {@code halfZero}. */
    private static byte[] pages(int count, boolean halfZero) {
        byte[] memory = new byte[count * PAGE];
        Random random = new Random(count);
        byte[] page = new byte[PAGE];
        for (int i = 0; i < count; i++) {
            if (!halfZero || i % 2 == 0) {
                random.nextBytes(page);
                System.arraycopy(page, 0, memory, i * PAGE, PAGE);
            }
        }
        return memory;
    }

    private record Carried(byte[] bytes, PageCompression.Counters sent, PageCompression.Counters received) {
    }

    private record Expanded(byte[] bytes, PageCompression.Counters counters) {
    }

    /** Sends {@code memory} through the compressing pump, then what it made through the expanding one. */
    private static Carried throughBothPumps(PageCompression compression, byte[] memory, ByteBuffer alreadyRead) throws Exception {
        PageCompression.Counters sent = new PageCompression.Counters();
        byte[] frames = pumped(compression.compressingPump(), alreadyRead, memory, sent);
        PageCompression.Counters received = new PageCompression.Counters();
        byte[] bytes = pumped(compression.expandingPump(), ByteBuffer.allocate(0), frames, received);
        return new Carried(bytes, sent, received);
    }

    private static byte[] compressed(byte[] memory) throws Exception {
        return pumped(PageCompression.LZ4.compressingPump(), ByteBuffer.allocate(0), memory, new PageCompression.Counters());
    }

    private static Expanded expand(ByteBuffer alreadyRead, byte[] rest) throws Exception {
        PageCompression.Counters counters = new PageCompression.Counters();
        byte[] bytes = pumped(PageCompression.LZ4.expandingPump(), alreadyRead, rest, counters);
        return new Expanded(bytes, counters);
    }

    /** Runs the pump from one loopback connection to another: {@code input} goes in, what comes out is returned. */
    private static byte[] pumped(PageCompression.Pump pump, ByteBuffer alreadyRead, byte[] input, PageCompression.Counters counters)
            throws Exception {
        try (ServerSocketChannel listener = ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (SocketChannel writer = SocketChannel.open(listener.getLocalAddress());
                    SocketChannel pumpIn = listener.accept();
                    SocketChannel pumpOut = SocketChannel.open(listener.getLocalAddress());
                    SocketChannel reader = listener.accept()) {
                CompletableFuture<byte[]> output = CompletableFuture.supplyAsync(() -> {
                    try {
                        ByteArrayOutputStream all = new ByteArrayOutputStream();
                        reader.socket().getInputStream().transferTo(all);
                        return all.toByteArray();
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                }, PageCompressionTest::inThread);
                CompletableFuture.runAsync(() -> {
                    try {
                        writer.write(ByteBuffer.wrap(input));
                        writer.shutdownOutput();
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                }, PageCompressionTest::inThread);
                try {
                    pump.pump(pumpIn, alreadyRead, pumpOut, counters);
                } finally {
                    pumpOut.shutdownOutput();
                }
                return output.get(30, TimeUnit.SECONDS);
            }
        }
    }

    /** On a thread of its own: the common pool has a single thread on a 2-core machine. */
    private static void inThread(Runnable work) {
        Thread thread = new Thread(work, "page-compression-test");
        thread.setDaemon(true);
        thread.start();
    }
}
