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
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class PageCompressionTest {

    private static final int PAGE = 4096;
    private static final int FRAME_OVERHEAD = 8 + FrameMac.TAG_BYTES;
    private static final byte[] KEY = new byte[FrameMac.KEY_BYTES];

    static {
        new Random(11).nextBytes(KEY);
    }

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
    void randomPagesAreStoredAsTheyAreWithAHeaderAndATagPerChunk() throws Exception {
        byte[] memory = pages(512, false);

        Carried carried = throughBothPumps(PageCompression.LZ4, memory, ByteBuffer.allocate(0));

        assertArrayEquals(memory, carried.bytes);
        long overhead = carried.sent.wire.get() - memory.length;
        assertTrue(overhead > 0 && overhead <= FRAME_OVERHEAD * (memory.length / PAGE + 1L), overhead + " bytes of frame headers and tags");
    }

    @Test
    void withoutCompressionTheChunksTravelAsTheyAreInSignedFrames() throws Exception {
        byte[] memory = pages(64, true);

        Carried carried = throughBothPumps(PageCompression.NONE, memory, ByteBuffer.allocate(0));

        assertArrayEquals(memory, carried.bytes);
        long overhead = carried.sent.wire.get() - memory.length;
        assertTrue(overhead >= 2 * FRAME_OVERHEAD && overhead % FRAME_OVERHEAD == 0, overhead + " bytes of frame headers and tags");
        assertEquals(carried.sent.wire.get(), carried.received.wire.get());
    }

    @Test
    void aByteFlippedInAFrameFailsTheRelayAndNothingOfThatFrameIsPassedOn() throws Exception {
        byte[] memory = pages(16, false);
        byte[] frames = compressed(memory);
        frames[FRAME_OVERHEAD + 100] ^= 1;

        ByteArrayOutputStream passedOn = new ByteArrayOutputStream();
        IOException error = assertThrows(IOException.class, () -> expand(ByteBuffer.allocate(0), frames, passedOn));

        assertEquals("frame 0 of the page relay failed its integrity check: altered, dropped or replayed on the link", error.getMessage());
        assertEquals(0, passedOn.size());
    }

    @Test
    void framesDroppedRepeatedOrSentTheOtherWayFailTheRelay() throws Exception {
        byte[] one = compressed(pages(1, false));
        byte[] firstFrame = Arrays.copyOfRange(one, 0, one.length - FRAME_OVERHEAD);
        byte[] end = Arrays.copyOfRange(one, firstFrame.length, one.length);
        byte[] repeated = concat(firstFrame, firstFrame, end);
        byte[] endAlone = end;
        byte[] otherWay = pumped(PageCompression.LZ4.sendingPump(new FrameMac(KEY, FrameMac.Direction.TO_SOURCE)), ByteBuffer.allocate(0),
                pages(1, false), new PageCompression.Counters());

        for (byte[] tampered : List.of(repeated, otherWay)) {
            IOException error = assertThrows(IOException.class, () -> expand(ByteBuffer.allocate(0), tampered));
            assertTrue(error.getMessage().contains("failed its integrity check"), error.getMessage());
        }
        // The end frame of a stream with one frame, alone: its sequence number is 1, not 0.
        IOException dropped = assertThrows(IOException.class, () -> expand(ByteBuffer.allocate(0), endAlone));
        assertTrue(dropped.getMessage().contains("frame 0 of the page relay failed its integrity check"), dropped.getMessage());
    }

    @Test
    void aStreamCutAtAFrameBoundaryIsAnErrorNotAnEnd() throws Exception {
        byte[] frames = compressed(pages(4, true));

        EOFException error = assertThrows(EOFException.class,
                () -> expand(ByteBuffer.allocate(0), Arrays.copyOfRange(frames, 0, frames.length - FRAME_OVERHEAD)));

        assertEquals("the relay's stream ended without its end frame: it was cut", error.getMessage());
    }

    @Test
    void framesSignedWithAnotherKeyFailTheRelay() throws Exception {
        byte[] otherKey = KEY.clone();
        otherKey[0] ^= 1;
        byte[] frames = pumped(PageCompression.LZ4.sendingPump(new FrameMac(otherKey, FrameMac.Direction.TO_TARGET)),
                ByteBuffer.allocate(0), pages(2, true), new PageCompression.Counters());

        IOException error = assertThrows(IOException.class, () -> expand(ByteBuffer.allocate(0), frames));

        assertTrue(error.getMessage().contains("failed its integrity check"), error.getMessage());
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

        assertEquals("malformed relay frame: chunk length " + (WireFormat.BUFFER_BYTES + 1) + ", body length 10", error.getMessage());
    }

    @Test
    void aSignedBodyThatIsNotLz4IsRefused() {
        byte[] garbage = new byte[100];
        new Random(1).nextBytes(garbage);
        ByteBuffer header = ByteBuffer.allocate(8).putInt(4096).putInt(garbage.length).flip();
        ByteBuffer tag = ByteBuffer.allocate(FrameMac.TAG_BYTES);
        new FrameMac(KEY, FrameMac.Direction.TO_TARGET).sign(header, ByteBuffer.wrap(garbage), tag);
        byte[] frame = concat(header.array(), garbage, tag.array());

        IOException error = assertThrows(IOException.class, () -> expand(ByteBuffer.allocate(0), frame));

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
        byte[] frames = pumped(compression.sendingPump(new FrameMac(KEY, FrameMac.Direction.TO_TARGET)), alreadyRead, memory, sent);
        PageCompression.Counters received = new PageCompression.Counters();
        byte[] bytes = pumped(PageCompression.receivingPump(new FrameMac(KEY, FrameMac.Direction.TO_TARGET)), ByteBuffer.allocate(0),
                frames, received);
        return new Carried(bytes, sent, received);
    }

    private static byte[] compressed(byte[] memory) throws Exception {
        return pumped(PageCompression.LZ4.sendingPump(new FrameMac(KEY, FrameMac.Direction.TO_TARGET)), ByteBuffer.allocate(0), memory,
                new PageCompression.Counters());
    }

    private static Expanded expand(ByteBuffer alreadyRead, byte[] rest) throws Exception {
        return expand(alreadyRead, rest, new ByteArrayOutputStream());
    }

    /** Expands through the receiving pump; {@code passedOn} gets what it passed on, even when it then fails. */
    private static Expanded expand(ByteBuffer alreadyRead, byte[] rest, ByteArrayOutputStream passedOn) throws Exception {
        PageCompression.Counters counters = new PageCompression.Counters();
        byte[] bytes = pumped(PageCompression.receivingPump(new FrameMac(KEY, FrameMac.Direction.TO_TARGET)), alreadyRead, rest, counters,
                passedOn);
        return new Expanded(bytes, counters);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            all.writeBytes(part);
        }
        return all.toByteArray();
    }

    /** Runs the pump from one loopback connection to another: {@code input} goes in, what comes out is returned. */
    private static byte[] pumped(PageCompression.Pump pump, ByteBuffer alreadyRead, byte[] input, PageCompression.Counters counters)
            throws Exception {
        return pumped(pump, alreadyRead, input, counters, new ByteArrayOutputStream());
    }

    private static byte[] pumped(PageCompression.Pump pump, ByteBuffer alreadyRead, byte[] input, PageCompression.Counters counters,
                                 ByteArrayOutputStream output) throws Exception {
        try (ServerSocketChannel listener = ServerSocketChannel.open()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            try (SocketChannel writer = SocketChannel.open(listener.getLocalAddress());
                    SocketChannel pumpIn = listener.accept();
                    SocketChannel pumpOut = SocketChannel.open(listener.getLocalAddress());
                    SocketChannel reader = listener.accept()) {
                CompletableFuture<byte[]> passedOn = CompletableFuture.supplyAsync(() -> {
                    try {
                        reader.socket().getInputStream().transferTo(output);
                        return output.toByteArray();
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
                    passedOn.get(30, TimeUnit.SECONDS);
                }
                return passedOn.get();
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
