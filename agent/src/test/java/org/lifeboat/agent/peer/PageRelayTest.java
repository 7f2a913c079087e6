package org.lifeboat.agent.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.agent.process.ProcessCommandRunner;

@Timeout(120)
class PageRelayTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final long THROUGHPUT_BYTES = 256L * 1024 * 1024;

    private final FakeAuthenticator cluster = new FakeAuthenticator("cluster");
    private final TestHandler handler = new TestHandler();
    private CapturedLogs logs;
    private PeerServer server;
    private ServerSocket pageServer;

    @BeforeEach
    void startServer() throws IOException {
        logs = new CapturedLogs();
        server = new PeerServer("node2", new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), cluster, handler);
        server.start();
        // Stands in for the target's CRIU page server, listening on loopback only.
        pageServer = ServerSocketChannel.open().socket();
        pageServer.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
        handler.onPipe((request, message) -> {
            try {
                return SocketChannel.open(pageServer.getLocalSocketAddress());
            } catch (IOException e) {
                throw new PeerRequestException("internal", "cannot reach the page server: " + e.getMessage());
            }
        });
    }

    @AfterEach
    void stopServer() throws IOException {
        pageServer.close();
        server.stop();
        logs.close();
    }

    @Test
    void bytesFlowBothWaysUntilBothSidesClose() throws Exception {
        CompletableFuture<Void> echo = serveOnce(connection -> connection.getInputStream().transferTo(connection.getOutputStream()));
        byte[] data = new byte[8 * 1024 * 1024];
        new Random(3).nextBytes(data);

        try (PageRelay relay = client().relay("page-server", WireFormat.JSON.createObjectNode().put("job", 42), dumperUid());
                Socket criu = new Socket(InetAddress.getLoopbackAddress(), relay.port())) {
            CompletableFuture<byte[]> echoed = inThread(() -> readAll(criu));
            criu.getOutputStream().write(data);
            criu.shutdownOutput();

            assertArrayEquals(data, echoed.get(30, TimeUnit.SECONDS));
            assertTrue(relay.awaitFinished(WAIT), "the relay ends once both sides have closed");
            assertEquals(data.length, relay.bytesToPeer());
        }
        echo.get(5, TimeUnit.SECONDS);
        assertEquals(List.of("page-server"), handler.requests());
        assertEquals(42, handler.messages().get(0).get("job").asInt());
    }

    @Test
    void aConversationLikeCriusGoesBackAndForthThroughTheRelay() throws Exception {
        // The page server answers each command; the dumping side waits for each answer.
        CompletableFuture<Void> pageServerDone = serveOnce(connection -> {
            DataInputStream in = new DataInputStream(connection.getInputStream());
            DataOutputStream out = new DataOutputStream(connection.getOutputStream());
            for (int i = 0; i < 100; i++) {
                out.writeInt(in.readInt() + 1);
                out.flush();
            }
        });

        try (PageRelay relay = client().relay("page-server", WireFormat.JSON.createObjectNode(), dumperUid());
                Socket criu = new Socket(InetAddress.getLoopbackAddress(), relay.port())) {
            DataOutputStream out = new DataOutputStream(criu.getOutputStream());
            DataInputStream in = new DataInputStream(criu.getInputStream());
            for (int i = 0; i < 100; i++) {
                out.writeInt(i * 7);
                out.flush();
                assertEquals(i * 7 + 1, in.readInt());
            }
            criu.shutdownOutput();
            assertEquals(-1, in.read());
            assertTrue(relay.awaitFinished(WAIT));
        }
        pageServerDone.get(5, TimeUnit.SECONDS);
    }

    @Test
    void twoHundredFiftySixMebibytesGoThroughTheRelay() throws Exception {
        // Both ends move bytes the way CRIU does, without copying them through the Java heap: the
        // figure is the relays' cost. The page server reports the count when the dump side is done.
        CompletableFuture<Void> sink = serveOnce(connection -> {
            SocketChannel channel = connection.getChannel();
            ByteBuffer buffer = ByteBuffer.allocateDirect(1024 * 1024);
            long count = 0;
            for (int read = channel.read(buffer); read >= 0; read = channel.read(buffer)) {
                count += read;
                buffer.clear();
            }
            new DataOutputStream(connection.getOutputStream()).writeLong(count);
        });
        ByteBuffer chunk = ByteBuffer.allocateDirect(1024 * 1024);
        byte[] random = new byte[chunk.capacity()];
        new Random(5).nextBytes(random);
        chunk.put(random);

        try (PageRelay relay = client().relay("page-server", WireFormat.JSON.createObjectNode(), dumperUid());
                SocketChannel criu = SocketChannel.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), relay.port()))) {
            long started = System.nanoTime();
            for (long sent = 0; sent < THROUGHPUT_BYTES; sent += chunk.capacity()) {
                chunk.clear();
                while (chunk.hasRemaining()) {
                    criu.write(chunk);
                }
            }
            criu.shutdownOutput();
            long counted = new DataInputStream(criu.socket().getInputStream()).readLong();
            double seconds = (System.nanoTime() - started) / 1e9;

            assertEquals(THROUGHPUT_BYTES, counted);
            assertTrue(relay.awaitFinished(WAIT));
            assertEquals(THROUGHPUT_BYTES, relay.bytesToPeer());
            System.out.printf("page relay throughput: %d MiB in %.2f s = %.0f MB/s (through the source relay, the peer "
                    + "connection and the target's relay, all on this machine's loopback)%n",
                    THROUGHPUT_BYTES >> 20, seconds, THROUGHPUT_BYTES / seconds / 1e6);
        }
        sink.get(5, TimeUnit.SECONDS);
    }

    @Test
    void aByteFlippedInAPageChunkOnTheLinkFailsTheRelayBeforeThatChunkReachesThePageServer() throws Exception {
        ByteArrayOutputStream reached = new ByteArrayOutputStream();
        CompletableFuture<Void> pageServerDone = serveOnce(connection -> connection.getInputStream().transferTo(reached));
        byte[] pages = new byte[4 * 1024 * 1024];
        new Random(9).nextBytes(pages);
        int flipped = 2 * 1024 * 1024;

        try (TamperingProxy proxy = TamperingProxy.flippingByteAt(server.boundAddress(), flipped);
                PageRelay relay = new PeerClient(proxy.address(), "node1", "node2", cluster, WAIT, PageCompression.LZ4)
                        .relay("page-server", WireFormat.JSON.createObjectNode(), dumperUid());
                Socket criu = new Socket(InetAddress.getLoopbackAddress(), relay.port())) {
            try {
                criu.getOutputStream().write(pages);
                criu.shutdownOutput();
            } catch (IOException e) {
                // The relay may already have been torn down under CRIU's writes.
            }

            assertThrows(IOException.class, () -> relay.awaitFinished(WAIT), "the relay fails");
        }
        pageServerDone.get(30, TimeUnit.SECONDS);
        byte[] received = reached.toByteArray();
        assertTrue(received.length < flipped, received.length + " bytes reached the page server");
        assertArrayEquals(Arrays.copyOf(pages, received.length), received, "what reached it is what CRIU sent, unaltered");
        assertTrue(logs.warned("failed its integrity check"), logs.messages(Level.ALL).toString());
    }

    @Test
    void aRefusedRelayRequestFailsAtOnceWithThePeersCode() {
        handler.onPipe((request, message) -> {
            throw new PeerRequestException("unknown-job", "no job 42 prepared here");
        });

        PeerRequestException error = assertThrows(PeerRequestException.class,
                () -> client().relay("page-server", WireFormat.JSON.createObjectNode(), dumperUid()));

        assertEquals("unknown-job", error.code());
    }

    @Test
    void aConnectionFromAnotherUserIsRefusedAndTheRelayKeepsWaitingForCriu() throws Exception {
        assumeTrue(LoopbackOwners.ownUid() == 0, "connecting as another user needs root");
        CompletableFuture<Void> echo = serveOnce(connection -> connection.getInputStream().transferTo(connection.getOutputStream()));

        try (PageRelay relay = client().relay("page-server", WireFormat.JSON.createObjectNode(), dumperUid())) {
            // nobody connects, writes and waits a little to give the relay time to refuse it.
            CommandResult intruder = new ProcessCommandRunner().run(List.of("runuser", "-u", "nobody", "--", "bash", "-c",
                    "exec 3<>/dev/tcp/127.0.0.1/" + relay.port() + "; echo evil-pages >&3; timeout 5 cat <&3; echo read-ended"), WAIT);
            assertEquals(0, intruder.exitCode(), intruder.stderr());
            assertEquals("read-ended\n", intruder.stdout(), "the intruder got nothing back");
            assertTrue(logs.warned("refused a connection to the page relay for page-server", "opened by uid 65534, not by uid 0, whom CRIU dumps as"),
                    logs.messages(Level.ALL).toString());

            try (Socket criu = new Socket(InetAddress.getLoopbackAddress(), relay.port())) {
                criu.getOutputStream().write("pages".getBytes());
                criu.shutdownOutput();
                assertEquals("pages", new String(criu.getInputStream().readAllBytes()), logs.messages(Level.ALL).toString());
            }
            assertTrue(relay.awaitFinished(WAIT));
            assertEquals(5, relay.bytesToPeer());
        }
        echo.get(5, TimeUnit.SECONDS);
    }

    @Test
    void theRelayTakesOneConnectionOnly() throws Exception {
        CompletableFuture<Void> echo = serveOnce(connection -> connection.getInputStream().transferTo(connection.getOutputStream()));

        try (PageRelay relay = client().relay("page-server", WireFormat.JSON.createObjectNode(), dumperUid());
                Socket criu = new Socket(InetAddress.getLoopbackAddress(), relay.port())) {
            criu.getOutputStream().write(1);
            assertEquals(1, criu.getInputStream().read(), "the first connection is relayed");

            assertThrows(IOException.class, () -> new Socket(InetAddress.getLoopbackAddress(), relay.port()).close());
            criu.shutdownOutput();
            assertTrue(relay.awaitFinished(WAIT));
        }
        echo.get(5, TimeUnit.SECONDS);
    }

    @Test
    void closingTheRelayBeforeCriuConnectedEndsItAsFailed() throws Exception {
        PageRelay relay = client().relay("page-server", WireFormat.JSON.createObjectNode(), dumperUid());
        try (Socket pageServerSide = pageServer.accept()) {
            assertFalse(relay.awaitFinished(Duration.ofMillis(100)), "nothing happens until CRIU connects");

            relay.close();

            IOException error = assertThrows(IOException.class, () -> relay.awaitFinished(WAIT));
            assertEquals("the relay for page-server was closed before CRIU connected", error.getMessage());
            assertEquals(-1, readEndOrReset(pageServerSide), "the target's side of the relay ends too");
            assertThrows(IOException.class, () -> new Socket(InetAddress.getLoopbackAddress(), relay.port()).close());
        }
    }

    @Test
    void closingARunningRelayTearsDownBothSides() throws Exception {
        CompletableFuture<Void> echo = serveOnce(connection -> connection.getInputStream().transferTo(connection.getOutputStream()));
        PageRelay relay = client().relay("page-server", WireFormat.JSON.createObjectNode(), dumperUid());
        try (Socket criu = new Socket(InetAddress.getLoopbackAddress(), relay.port())) {
            criu.getOutputStream().write(1);
            assertEquals(1, criu.getInputStream().read());

            relay.close();

            assertThrows(IOException.class, () -> relay.awaitFinished(WAIT));
            assertEquals(-1, readEndOrReset(criu));
            echo.get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void stoppingTheServerEndsItsRelays() throws Exception {
        CompletableFuture<Void> echo = serveOnce(connection -> connection.getInputStream().transferTo(connection.getOutputStream()));
        try (PageRelay relay = client().relay("page-server", WireFormat.JSON.createObjectNode(), dumperUid());
                Socket criu = new Socket(InetAddress.getLoopbackAddress(), relay.port())) {
            criu.getOutputStream().write(1);
            assertEquals(1, criu.getInputStream().read());

            server.stop();

            assertEquals(-1, readEndOrReset(criu));
            assertThrows(IOException.class, () -> relay.awaitFinished(WAIT));
        }
        echo.get(5, TimeUnit.SECONDS);
    }

    @FunctionalInterface
    private interface Conversation {
        void with(Socket connection) throws IOException;
    }

    /** The page server's side: accepts one connection, runs the conversation, closes. */
    private CompletableFuture<Void> serveOnce(Conversation conversation) {
        return inThread(() -> {
            try (Socket connection = pageServer.accept()) {
                conversation.with(connection);
            } catch (IOException e) {
                // A torn-down relay ends the conversation; the tests check their own side.
            }
            return null;
        });
    }

    /** On a thread of its own: the common pool has a single thread on a 2-core machine. */
    private static <T> CompletableFuture<T> inThread(Supplier<T> work) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                result.complete(work.get());
            } catch (RuntimeException | Error e) {
                result.completeExceptionally(e);
            }
        }, "page-relay-test");
        thread.setDaemon(true);
        thread.start();
        return result;
    }

    /** -1 once the connection has ended, whether closed cleanly or reset. */
    private static int readEndOrReset(Socket socket) throws IOException {
        socket.setSoTimeout((int) WAIT.toMillis());
        try {
            return socket.getInputStream().read();
        } catch (SocketException e) {
            return -1;
        }
    }

    private static byte[] readAll(Socket socket) {
        try {
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            socket.getInputStream().transferTo(all);
            return all.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private PeerClient client() {
        return new PeerClient(server.boundAddress(), "node1", "node2", cluster, WAIT, PageCompression.LZ4);
    }

    /** CRIU dumps as this test's own user here, as it dumps as a job's owner in the agent. */
    private static int dumperUid() throws IOException {
        return LoopbackOwners.ownUid();
    }
}
