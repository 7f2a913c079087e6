package org.lifeboat.agent.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.logging.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.LongManifests;
import org.lifeboat.agent.migration.PeerMessages;
import org.lifeboat.agent.migration.PrepareRequest;
import org.lifeboat.agent.migration.TransferMode;

@Timeout(60)
class PeerServerTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final FakeAuthenticator cluster = new FakeAuthenticator("cluster");
    private final TestHandler handler = new TestHandler();
    private CapturedLogs logs;
    private PeerServer server;

    @BeforeEach
    void startServer() throws IOException {
        logs = new CapturedLogs();
        server = new PeerServer("node2", new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), cluster, handler,
                Duration.ofSeconds(2));
        server.start();
        handler.onCall((request, message) -> {
            ObjectNode reply = WireFormat.JSON.createObjectNode();
            reply.put("node", "node2");
            reply.set("echo", message);
            return reply;
        });
    }

    @AfterEach
    void stopServer() throws IOException {
        server.stop();
        logs.close();
    }

    @Test
    void aCallRoundTripCarriesTheFieldsBothWays() throws Exception {
        ObjectNode fields = WireFormat.JSON.createObjectNode().put("job", 42).put("name", "ünïcode\nline");

        ObjectNode reply = client(cluster).call("prepare", fields);

        assertEquals("ok", reply.get("status").asText());
        assertEquals(2, reply.get("version").asInt());
        assertEquals("node2", reply.get("node").asText());
        assertEquals(fields, reply.get("echo"), "the handler gets the request's own fields, without the envelope");
        assertEquals(List.of("prepare"), handler.requests());
    }

    @Test
    void theHandlersErrorCodeAndMessageReachTheCaller() throws Exception {
        handler.onCall((request, message) -> {
            throw new PeerRequestException("unknown-job", "no job 42 on node2");
        });

        PeerRequestException error = assertThrows(PeerRequestException.class,
                () -> client(cluster).call("restore", WireFormat.JSON.createObjectNode()));

        assertEquals("unknown-job", error.code());
        assertTrue(error.getMessage().endsWith("refused: no job 42 on node2"), error.getMessage());
        assertTrue(logs.warned("refused a request from 127.0.0.1:", "unknown-job: no job 42 on node2"), logs.messages(Level.ALL).toString());
    }

    @Test
    void aClientOfAnotherRealmIsRefusedAndLoggedAndTheServerKeepsServing() throws Exception {
        FakeAuthenticator outsider = new FakeAuthenticator("elsewhere");

        IOException error = assertThrows(IOException.class, () -> client(outsider).call("restore", WireFormat.JSON.createObjectNode()));

        // The outsider cannot even verify the refusal: it is sealed in the cluster's realm.
        assertTrue(error.getMessage().contains("is not authentic"), error.getMessage());
        assertTrue(logs.warned("refused a request from 127.0.0.1:", "not-authenticated: not a credential of realm cluster"),
                logs.messages(Level.ALL).toString());
        assertEquals(List.of(), handler.requests(), "the handler never saw the request");
        assertEquals("node2", client(cluster).call("status", WireFormat.JSON.createObjectNode()).get("node").asText());
    }

    @Test
    void theRefusalOfABadCredentialIsASealedNotAuthenticatedReply() throws Exception {
        try (RawPeer raw = new RawPeer(server.boundAddress())) {
            String statusRequest = raw.request("status", "call", "");
            ObjectNode reply = raw.send("cluster:1:" + "0".repeat(64), statusRequest).reply(cluster);

            assertEquals("error", reply.get("status").asText());
            assertEquals("not-authenticated", reply.at("/error/code").asText());
            assertEquals("the credential was made for another message", reply.at("/error/message").asText());
            assertEquals(WireFormat.sha256Hex(statusRequest.getBytes(StandardCharsets.UTF_8)), reply.get("in-reply-to").asText());
        }
    }

    @Test
    void aRequestReplayedOnANewConnectionIsRefused() throws Exception {
        String statusRequest;
        String credential;
        try (RawPeer first = new RawPeer(server.boundAddress())) {
            statusRequest = first.request("status", "call", "");
            credential = cluster.seal(statusRequest.getBytes(StandardCharsets.UTF_8));
            assertEquals("ok", first.send(credential, statusRequest).reply(cluster).get("status").asText());
        }

        try (RawPeer replay = new RawPeer(server.boundAddress())) {
            ObjectNode reply = replay.send(credential, statusRequest).reply(cluster);

            assertEquals("not-authenticated", reply.at("/error/code").asText());
            assertEquals("replayed credential", reply.at("/error/message").asText());
        }
        assertEquals(1, handler.requests().size());
    }

    @Test
    void aPrepareRecordedOnItsWayToOneNodeIsRefusedByAnotherNodeOfTheRealm() throws Exception {
        RecordedRequest prepare = recordPrepareToNode2();
        // node3 shares the realm's key but has its own replay cache, as another node's munged has.
        FakeAuthenticator node3Realm = new FakeAuthenticator("cluster");
        TestHandler node3Handler = new TestHandler();
        PeerServer node3 = startServer("node3", node3Realm, node3Handler);
        try (RawPeer toNode3 = new RawPeer(node3.boundAddress())) {
            ObjectNode reply = toNode3.send(prepare.credential(), prepare.line()).reply(node3Realm);

            assertEquals("wrong-node", reply.at("/error/code").asText());
            assertEquals("the request from node1 is for node2, this is node3", reply.at("/error/message").asText());
        } finally {
            node3.stop();
        }
        assertEquals(List.of(), node3Handler.requests(), "node3 prepared nothing");
    }

    @Test
    void aRequestReplayedToTheSameNodeIsRefusedEvenWhenItsCredentialIsFreshThere() throws Exception {
        RecordedRequest prepare = recordPrepareToNode2();
        // node2 again, its replay cache lost (munged restarted): only the nonce tells the copy from the original.
        FakeAuthenticator forgetful = new FakeAuthenticator("cluster");
        TestHandler restartedHandler = new TestHandler();
        PeerServer restarted = startServer("node2", forgetful, restartedHandler);
        try (RawPeer replay = new RawPeer(restarted.boundAddress())) {
            ObjectNode reply = replay.send(prepare.credential(), prepare.line()).reply(forgetful);

            assertEquals("wrong-nonce", reply.at("/error/code").asText());
        } finally {
            restarted.stop();
        }
        assertEquals(List.of(), restartedHandler.requests(), "nothing prepared");
    }

    @Test
    void aClientAddressingAnotherNodeIsRefusedWithWrongNode() {
        PeerClient toNode3 = new PeerClient(server.boundAddress(), "node1", "node3", cluster, WAIT, PageCompression.LZ4);

        PeerRequestException error = assertThrows(PeerRequestException.class,
                () -> toNode3.call("prepare", WireFormat.JSON.createObjectNode()));

        assertEquals("wrong-node", error.code());
        assertEquals(List.of(), handler.requests());
    }

    @Test
    void aRequestWithoutFromToOrNonceIsRefusedAsMalformed() throws Exception {
        try (RawPeer raw = new RawPeer(server.boundAddress())) {
            ObjectNode reply = raw.sendSealed(cluster, "{\"version\":2,\"request\":\"status\",\"kind\":\"call\",\"from\":\"node1\","
                    + "\"to\":\"node2\"}").reply(cluster);

            assertEquals("malformed", reply.at("/error/code").asText());
            assertEquals("\"nonce\" must be a non-empty string", reply.at("/error/message").asText());
        }
        assertEquals(List.of(), handler.requests());
    }

    @ParameterizedTest
    @MethodSource("longCommandLines")
    void aPrepareOfAJobWithALongCommandLineCrossesToTheTarget(ContainerManifest manifest) throws Exception {
        PrepareRequest prepare = new PrepareRequest("job7-a1", 7, 1000, 1000, TransferMode.DISKLESS, 1 << 20, manifest, true, null);
        handler.onCall((request, message) -> {
            PrepareRequest received = PeerMessages.read(request, message, PrepareRequest.class);
            return WireFormat.JSON.createObjectNode().put("arguments", received.manifest().argv().size())
                    .put("argv-sha256", WireFormat.sha256Hex(String.join("\0", received.manifest().argv()).getBytes(StandardCharsets.UTF_8)));
        });

        ObjectNode reply = client(cluster).call("prepare", PeerMessages.write(prepare));

        assertEquals(manifest.argv().size(), reply.get("arguments").asInt());
        assertEquals(WireFormat.sha256Hex(String.join("\0", manifest.argv()).getBytes(StandardCharsets.UTF_8)),
                reply.get("argv-sha256").asText(), "the target got the argv whole");
    }

    static Stream<ContainerManifest> longCommandLines() {
        return Stream.of(LongManifests.twoHundredArgumentsOf1000Characters(), LongManifests.oneArgumentOf100Kilobytes());
    }

    @Test
    void aPrepareOfTheLargestManifestFits() throws Exception {
        // Arguments of 100 KB, each written as itself, two quotes and a comma, up to the limit.
        String argument = "x".repeat(100 * 1000);
        List<String> argv = new ArrayList<>(List.of("/bin/true"));
        int room = ContainerManifest.MAX_BYTES - WireFormat.JSON.writeValueAsBytes(LongManifests.withArgv(argv)).length;
        argv.addAll(Collections.nCopies(room / (argument.length() + 3), argument));
        PrepareRequest prepare = new PrepareRequest("job7-a1", 7, 1000, 1000, TransferMode.DISKLESS, 1 << 20,
                LongManifests.withArgv(argv), true, null);
        handler.onCall((request, message) -> WireFormat.JSON.createObjectNode()
                .put("arguments", PeerMessages.read(request, message, PrepareRequest.class).manifest().argv().size()));

        assertEquals(argv.size(), client(cluster).call("prepare", PeerMessages.write(prepare)).get("arguments").asInt());
    }

    @Test
    void aLineOverTheLimitIsRefusedAsMalformedAndTheServerKeepsServing() throws Exception {
        String huge = "{\"version\":2,\"request\":\"status\",\"kind\":\"call\",\"pad\":\"" + "x".repeat(WireFormat.MAX_LINE_BYTES) + "\"}";
        try (RawPeer raw = new RawPeer(server.boundAddress())) {
            ObjectNode reply = raw.sendSealed(cluster, huge).reply(cluster);

            assertEquals("malformed", reply.at("/error/code").asText());
            assertEquals("the JSON line exceeds " + WireFormat.MAX_LINE_BYTES + " bytes", reply.at("/error/message").asText());
            assertFalse(reply.has("in-reply-to"), "the server never read the request whole");
        }
        assertTrue(logs.warned("malformed: the JSON line exceeds " + WireFormat.MAX_LINE_BYTES + " bytes"));
        assertEquals(List.of(), handler.requests());
        assertEquals("node2", client(cluster).call("status", WireFormat.JSON.createObjectNode()).get("node").asText());
    }

    @Test
    void aCredentialLineOverItsOwnLimitIsRefusedAsMalformed() throws Exception {
        // A credential never grows with its message: 4 KiB of one is not a credential.
        try (RawPeer raw = new RawPeer(server.boundAddress())) {
            ObjectNode reply = raw.send(("x".repeat(WireFormat.MAX_CREDENTIAL_BYTES + 1) + "\n").getBytes(StandardCharsets.US_ASCII))
                    .reply(cluster);

            assertEquals("malformed", reply.at("/error/code").asText());
            assertEquals("the credential line exceeds " + WireFormat.MAX_CREDENTIAL_BYTES + " bytes", reply.at("/error/message").asText());
        }
        assertEquals("node2", client(cluster).call("status", WireFormat.JSON.createObjectNode()).get("node").asText());
    }

    @Test
    void aLineOfExactlyTheLimitIsAccepted() throws Exception {
        handler.onCall((request, message) -> WireFormat.JSON.createObjectNode());

        try (RawPeer raw = new RawPeer(server.boundAddress())) {
            String prefix = raw.request("status", "call", ",\"pad\":\"");
            prefix = prefix.substring(0, prefix.length() - 1);
            String line = prefix + "x".repeat(WireFormat.MAX_LINE_BYTES - prefix.length() - 2) + "\"}";
            assertEquals(WireFormat.MAX_LINE_BYTES, line.length());
            assertEquals("ok", raw.sendSealed(cluster, line).reply(cluster).get("status").asText());
        }
    }

    @Test
    void requestsThatAreNotWellFormedJsonObjectsOfThisProtocolAreRefused() throws Exception {
        assertRefused("{\"version\":2,\"request\":", "malformed", "not valid JSON");
        assertRefused("[1,2]", "malformed", "not a JSON object");
        assertRefused("{\"version\":2,\"request\":\"status\",\"kind\":\"call\"} {}", "malformed", "not valid JSON");
        assertRefused("{\"version\":2,\"version\":2,\"request\":\"status\",\"kind\":\"call\"}", "malformed", "Duplicate field");
        assertRefused("{\"request\":\"status\",\"kind\":\"call\"}", "malformed", "\"version\" must be an integer");
        assertRefused("{\"version\":\"1\",\"request\":\"status\",\"kind\":\"call\"}", "malformed", "\"version\" must be an integer");
        assertRefused("{\"version\":3,\"request\":\"status\",\"kind\":\"call\"}", "unsupported-version", "protocol version 3");
        assertRefused("{\"version\":2,\"kind\":\"call\"}", "malformed", "\"request\" must be a non-empty string");
        assertRefused("{\"version\":2,\"request\":\"status\"}", "malformed", "\"kind\" must be a non-empty string");
        try (RawPeer raw = new RawPeer(server.boundAddress())) {
            ObjectNode reply = raw.sendSealed(cluster, raw.request("status", "telnet", "")).reply(cluster);

            assertEquals("\"kind\" must be call, receive or pipe, not \"telnet\"", reply.at("/error/message").asText());
        }
        assertEquals(List.of(), handler.requests());
    }

    @Test
    void aConnectionThatEndsInsideARequestIsRefusedAsMalformed() throws Exception {
        try (RawPeer raw = new RawPeer(server.boundAddress())) {
            raw.send("cluster:1:abc\n{\"version\"".getBytes(StandardCharsets.US_ASCII)).halfClose();

            ObjectNode reply = raw.reply(cluster);

            assertEquals("malformed", reply.at("/error/code").asText());
            assertEquals("the connection ended inside the JSON line", reply.at("/error/message").asText());
        }
    }

    @Test
    void aClientTooSlowToSendItsRequestIsCutOff() throws Exception {
        try (RawPeer raw = new RawPeer(server.boundAddress())) {
            raw.send("cluster:1:".getBytes(StandardCharsets.US_ASCII));

            long started = System.nanoTime();
            assertEquals("", raw.readToEnd(), "the server closes without a reply");
            long waitedMillis = (System.nanoTime() - started) / 1_000_000;

            assertTrue(waitedMillis > 1_000 && waitedMillis < 8_000, "cut off after " + waitedMillis + " ms, the limit is 2 s");
        }
        assertTrue(logs.warned("no complete request within 2000 ms"), logs.messages(Level.ALL).toString());
    }

    @Test
    void aHandlerFailingUnexpectedlyGivesAnInternalErrorAndIsLoggedAsSevere() throws Exception {
        handler.onCall((request, message) -> {
            throw new IllegalStateException("bug");
        });

        PeerRequestException error = assertThrows(PeerRequestException.class,
                () -> client(cluster).call("status", WireFormat.JSON.createObjectNode()));

        assertEquals("internal", error.code());
        assertTrue(logs.messages(Level.SEVERE).stream().anyMatch(m -> m.contains("failed unexpectedly")));
    }

    @Test
    void aHandlerMayNotOverwriteTheEnvelopeOfItsReply() throws Exception {
        handler.onCall((request, message) -> WireFormat.JSON.createObjectNode().put("status", "error"));

        PeerRequestException error = assertThrows(PeerRequestException.class,
                () -> client(cluster).call("status", WireFormat.JSON.createObjectNode()));

        assertEquals("internal", error.code());
        assertTrue(error.getMessage().contains("reserved reply field \"status\""), error.getMessage());
    }

    @Test
    void aCallerMayNotSetTheEnvelopeThroughItsFields() {
        ObjectNode fields = WireFormat.JSON.createObjectNode().put("kind", "pipe");

        assertThrows(IllegalArgumentException.class, () -> client(cluster).call("status", fields));
    }

    @Test
    void aReplyThatAnswersAnotherRequestIsRejectedByTheClient() throws Exception {
        // A genuine reply, sealed by the cluster, but to a request captured earlier.
        byte[] earlierRequest = "{\"version\":2,\"request\":\"restore\",\"kind\":\"call\"}".getBytes(StandardCharsets.UTF_8);
        ObjectNode staleReply = WireFormat.JSON.createObjectNode().put("version", 2).put("status", "ok")
                .put("in-reply-to", WireFormat.sha256Hex(earlierRequest));
        try (ServerSocket impostor = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread answering = answerOnce(impostor, staleReply);

            IOException error = assertThrows(IOException.class,
                    () -> client(cluster, impostor.getLocalPort()).call("status", WireFormat.JSON.createObjectNode()));

            assertTrue(error.getMessage().endsWith("answers another request"), error.getMessage());
            answering.join();
        }
    }

    @Test
    void anOkReplyWithoutInReplyToIsRejectedByTheClient() throws Exception {
        ObjectNode reply = WireFormat.JSON.createObjectNode().put("version", 2).put("status", "ok");
        try (ServerSocket impostor = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Thread answering = answerOnce(impostor, reply);

            IOException error = assertThrows(IOException.class,
                    () -> client(cluster, impostor.getLocalPort()).call("status", WireFormat.JSON.createObjectNode()));

            assertTrue(error.getMessage().endsWith("answers another request"), error.getMessage());
            answering.join();
        }
    }

    @Test
    void aServerThatNeverRepliesRunsIntoTheClientsTimeout() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            PeerClient client = new PeerClient(new InetSocketAddress(InetAddress.getLoopbackAddress(), silent.getLocalPort()),
                    "node1", "node2", cluster, Duration.ofMillis(300), PageCompression.NONE);

            IOException error = assertThrows(IOException.class, () -> client.call("status", WireFormat.JSON.createObjectNode()));

            assertTrue(error.getMessage().endsWith("did not reply within 300 ms"), error.getMessage());
        }
    }

    @Test
    void anUnreachablePeerIsAnIoExceptionNamingIt() throws Exception {
        int closedPort;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = probe.getLocalPort();
        }

        IOException error = assertThrows(IOException.class,
                () -> client(cluster, closedPort).call("status", WireFormat.JSON.createObjectNode()));

        assertTrue(error.getMessage().startsWith("cannot connect to the agent at localhost:" + closedPort), error.getMessage());
    }

    @Test
    void theAcceptLoopIsAliveWhileServingAndAStopIsNoFailure() throws Exception {
        assertEquals(Optional.empty(), server.acceptLoop().failure());
        server.stop();
        assertEquals(Optional.empty(), server.acceptLoop().failure());
    }

    @Test
    void afterStopTheServerAcceptsNothing() throws Exception {
        InetSocketAddress address = server.boundAddress();
        server.stop();

        assertThrows(IOException.class, () -> new Socket(address.getAddress(), address.getPort()).close());
    }

    private record RecordedRequest(String credential, String line) {}

    /** A prepare as node1 sends it to node2, accepted there, and what an eavesdropper kept of it. */
    private RecordedRequest recordPrepareToNode2() throws Exception {
        try (RawPeer toNode2 = new RawPeer(server.boundAddress())) {
            String prepare = toNode2.request("prepare", "call", ",\"migration\":\"job42-1a2b3c4d\"");
            String credential = cluster.seal(prepare.getBytes(StandardCharsets.UTF_8));
            assertEquals("ok", toNode2.send(credential, prepare).reply(cluster).get("status").asText());
            return new RecordedRequest(credential, prepare);
        }
    }

    private static PeerServer startServer(String nodeName, PeerAuthenticator authenticator, TestHandler handler) throws IOException {
        handler.onCall((request, message) -> WireFormat.JSON.createObjectNode());
        PeerServer server = new PeerServer(nodeName, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), authenticator, handler,
                Duration.ofSeconds(2));
        server.start();
        return server;
    }

    private void assertRefused(String line, String code, String messagePart) throws Exception {
        try (RawPeer raw = new RawPeer(server.boundAddress())) {
            ObjectNode reply = raw.sendSealed(cluster, line).reply(cluster);

            assertEquals("error", reply.get("status").asText(), line);
            assertEquals(code, reply.at("/error/code").asText(), line);
            assertTrue(reply.at("/error/message").asText().contains(messagePart), line + " -> " + reply);
            assertEquals(WireFormat.sha256Hex(line.getBytes(StandardCharsets.UTF_8)), reply.get("in-reply-to").asText());
        }
    }

    /** Accepts one connection, reads its request and answers with this reply, sealed by the cluster. */
    private Thread answerOnce(ServerSocket listener, ObjectNode reply) {
        Thread thread = new Thread(() -> {
            try (Socket connection = listener.accept()) {
                WireFormat.writeGreeting(connection.getOutputStream(), WireFormat.newNonce());
                new MessageReader(connection).read(System.nanoTime() + WAIT.toNanos());
                WireFormat.write(connection.getOutputStream(), cluster, reply);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        thread.start();
        return thread;
    }

    private PeerClient client(PeerAuthenticator authenticator) {
        return new PeerClient(server.boundAddress(), "node1", "node2", authenticator, WAIT, PageCompression.LZ4);
    }

    private PeerClient client(PeerAuthenticator authenticator, int port) {
        return new PeerClient(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), "node1", "node2", authenticator, WAIT,
                PageCompression.LZ4);
    }
}
