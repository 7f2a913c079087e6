package org.lifeboat.agent.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class PeerReceiveTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int BODY_BYTES = 3 * 1024 * 1024 + 17;

    private final FakeAuthenticator cluster = new FakeAuthenticator("cluster");
    private final TestHandler handler = new TestHandler();
    private final byte[] body = new byte[BODY_BYTES];
    /** What the handler read of the body, or how reading it failed. */
    private final CompletableFuture<byte[]> received = new CompletableFuture<>();
    private CapturedLogs logs;
    private PeerServer server;

    @BeforeEach
    void startServer() throws IOException {
        new Random(7).nextBytes(body);
        logs = new CapturedLogs();
        server = new PeerServer("node2", new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), cluster, handler);
        server.start();
        handler.onReceive((request, message, in) -> {
            try {
                byte[] bytes = in.readAllBytes();
                received.complete(bytes);
                return WireFormat.JSON.createObjectNode().put("stored", bytes.length);
            } catch (IOException e) {
                received.completeExceptionally(e);
                throw e;
            }
        });
    }

    @AfterEach
    void stopServer() throws IOException {
        server.stop();
        logs.close();
    }

    @Test
    void theBodyArrivesWholeAndBothEndsAgreeOnItsDigest() throws Exception {
        ObjectNode fields = WireFormat.JSON.createObjectNode().put("job", 42);

        ObjectNode reply = client(server.boundAddress()).send("images", fields, out -> out.write(body));

        assertArrayEquals(body, received.get(5, TimeUnit.SECONDS));
        assertEquals(BODY_BYTES, reply.get("stored").asInt());
        assertEquals(BODY_BYTES, reply.get("bytes").asLong());
        assertEquals(HexFormat.of().formatHex(WireFormat.sha256().digest(body)), reply.get("sha256").asText());
        assertEquals(List.of("images"), handler.requests());
        assertEquals(fields, handler.messages().get(0));
    }

    @Test
    void anEmptyBodyIsABody() throws Exception {
        ObjectNode reply = client(server.boundAddress()).send("images", WireFormat.JSON.createObjectNode(), out -> { });

        assertEquals(0, received.get(5, TimeUnit.SECONDS).length);
        assertEquals(0, reply.get("bytes").asLong());
    }

    @Test
    void bytesTheHandlerLeftUnreadStillCountInTheDigest() throws Exception {
        handler.onReceive((request, message, in) -> {
            received.complete(in.readNBytes(10));
            return WireFormat.JSON.createObjectNode();
        });

        ObjectNode reply = client(server.boundAddress()).send("images", WireFormat.JSON.createObjectNode(), out -> out.write(body));

        assertEquals(BODY_BYTES, reply.get("bytes").asLong());
    }

    @Test
    void aBodyAlteredInTransitIsDetectedByTheSender() throws Exception {
        try (TamperingProxy proxy = TamperingProxy.flippingByteAt(server.boundAddress(), 1024 * 1024)) {
            IOException error = assertThrows(IOException.class,
                    () -> client(proxy.address()).send("images", WireFormat.JSON.createObjectNode(), out -> out.write(body)));

            assertTrue(error.getMessage().startsWith("the body of images did not arrive intact at localhost:"), error.getMessage());
            assertTrue(error.getMessage().contains("sent " + BODY_BYTES + " bytes with SHA-256 "), error.getMessage());
            assertTrue(error.getMessage().contains("the peer received " + BODY_BYTES + " bytes"), error.getMessage());
        }
        assertEquals(BODY_BYTES, received.get(5, TimeUnit.SECONDS).length);
    }

    @Test
    void aBodyCutShortInTransitIsDetectedByTheSender() throws Exception {
        try (TamperingProxy proxy = TamperingProxy.truncatingAfter(server.boundAddress(), 1024 * 1024)) {
            IOException error = assertThrows(IOException.class,
                    () -> client(proxy.address()).send("images", WireFormat.JSON.createObjectNode(), out -> out.write(body)));

            assertTrue(error.getMessage().startsWith("the body of images did not arrive intact"), error.getMessage());
        }
        int arrived = received.get(5, TimeUnit.SECONDS).length;
        assertTrue(arrived < 1024 * 1024, arrived + " bytes arrived");
    }

    @Test
    void aHandlerRefusingMidBodyReachesTheSenderWithItsCode() throws Exception {
        handler.onReceive((request, message, in) -> {
            in.readNBytes(1000);
            throw new PeerRequestException("no-space", "images exceed the 1000 bytes free in /tmpfs");
        });
        byte[] large = new byte[64 * 1024 * 1024];

        PeerRequestException error = assertThrows(PeerRequestException.class,
                () -> client(server.boundAddress()).send("images", WireFormat.JSON.createObjectNode(), out -> out.write(large)));

        assertEquals("no-space", error.code());
        assertTrue(error.getMessage().endsWith("images exceed the 1000 bytes free in /tmpfs"), error.getMessage());
    }

    @Test
    void aWriterThatFailsResetsTheConnectionSoTheReceiverNeverSeesACleanEnd() throws Exception {
        IOException error = assertThrows(IOException.class, () -> client(server.boundAddress()).send("images",
                WireFormat.JSON.createObjectNode(), out -> {
                    out.write(body, 0, 100_000);
                    out.flush();
                    throw new IOException("cannot read pages-1.img");
                }));

        assertEquals("cannot read pages-1.img", error.getMessage());
        Exception handlerSaw = assertThrows(Exception.class, () -> received.get(5, TimeUnit.SECONDS));
        assertInstanceOf(IOException.class, handlerSaw.getCause());
    }

    @Test
    void aWriterClosingItsStreamDoesNotEndTheConnection() throws Exception {
        ObjectNode reply = client(server.boundAddress()).send("images", WireFormat.JSON.createObjectNode(), out -> {
            try (out) {
                out.write(body);
            }
        });

        assertEquals(BODY_BYTES, reply.get("bytes").asLong());
        assertNotNull(received.get(5, TimeUnit.SECONDS));
    }

    private PeerClient client(InetSocketAddress address) {
        return new PeerClient(address, "node1", "node2", cluster, WAIT, PageCompression.LZ4);
    }
}
