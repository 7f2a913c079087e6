package org.lifeboat.agent.peer;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A relay's wait for its end: a link that stops carrying bytes, with no end ever sent, is given up. */
@Timeout(20)
class SpliceTest {

    private static final byte[] KEY = new byte[FrameMac.KEY_BYTES];

    /** A splice between two loopback connections, started, and the test's ends of them. */
    private record Ends(ServerSocketChannel listener, SocketChannel sender, SocketChannel receiver, Splice splice)
            implements AutoCloseable {

        static Ends spliced() throws IOException {
            ServerSocketChannel listener = ServerSocketChannel.open();
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            SocketChannel sender = SocketChannel.open(listener.getLocalAddress());
            SocketChannel first = listener.accept();
            SocketChannel receiver = SocketChannel.open(listener.getLocalAddress());
            SocketChannel second = listener.accept();
            Splice splice = new Splice(first, ByteBuffer.allocate(0), second, ByteBuffer.allocate(0),
                    PageCompression.NONE.sendingPump(new FrameMac(KEY, FrameMac.Direction.TO_TARGET)),
                    PageCompression.NONE.sendingPump(new FrameMac(KEY, FrameMac.Direction.TO_SOURCE)));
            splice.start("splice-test");
            return new Ends(listener, sender, receiver, splice);
        }

        @Override
        public void close() throws IOException {
            splice.close();
            sender.close();
            receiver.close();
            listener.close();
        }
    }

    @Test
    void bytesThatStopComingWithoutAnEndFailTheSpliceAfterTheStallLimit() throws Exception {
        try (Ends ends = Ends.spliced()) {
            Splice splice = ends.splice;
            ends.sender.write(ByteBuffer.wrap(new byte[4096]));

            long started = System.nanoTime();
            IOException stalled = assertThrows(IOException.class, () -> splice.awaitEnd(Duration.ofSeconds(1)));

            long waited = (System.nanoTime() - started) / 1_000_000;
            assertTrue(stalled.getMessage().contains("nothing came through the relay for 1 s"), stalled.getMessage());
            assertTrue(waited >= 1000 && waited < 5000, "gave up after " + waited + " ms");
        }
    }

    @Test
    void aSpliceThatHasCarriedNothingYetWaitsForItsFirstBytes() throws Exception {
        try (Ends ends = Ends.spliced()) {
            Splice splice = ends.splice;
            Thread waiter = new Thread(() -> {
                try {
                    splice.awaitEnd(Duration.ofMillis(500));
                } catch (IOException | InterruptedException e) {
                    // The test closes the splice at the end.
                }
            });
            waiter.start();

            waiter.join(2500);
            assertTrue(waiter.isAlive(), "a post-copy relay waits seconds for the source's first page: that is no stall");
            splice.close();
            waiter.join(2000);
        }
    }
}
