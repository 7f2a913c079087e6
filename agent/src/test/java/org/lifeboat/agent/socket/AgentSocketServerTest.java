package org.lifeboat.agent.socket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.LongManifests;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.agent.process.ProcessCommandRunner;
import org.lifeboat.agent.registry.JobRegistry;
import org.lifeboat.agent.registry.RegistryStore;

@Timeout(60)
class AgentSocketServerTest {

    private static final ObjectMapper JSON = AgentJson.mapper();
    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final String STATUS = "{\"version\":1,\"request\":\"status\"}";
    private static final String OK_EMPTY_STATUS = "{\"version\":1,\"status\":\"ok\",\"jobs\":[]}";
    private static final int NOBODY = 65534;

    @TempDir
    Path directory;

    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final List<AgentSocketServer> servers = new ArrayList<>();
    private Path socket;
    private JobRegistry registry;
    private QuietLogs quiet;

    @BeforeEach
    void setUp() throws IOException {
        socket = directory.resolve("agent.sock");
        assertTrue(socket.toString().length() < 90, "Unix socket paths are limited to 107 bytes: " + socket);
        registry = new JobRegistry(new RegistryStore(Files.createDirectory(directory.resolve("state"))), Clock.systemUTC());
        quiet = QuietLogs.socketWarnings();
    }

    @AfterEach
    void stopServers() throws IOException {
        for (AgentSocketServer server : servers) {
            server.stop();
        }
        quiet.close();
    }

    @Test
    void theSocketFileAppearsWithModeRwRwRwAndNoTemporaryFileRemains() throws Exception {
        start(WAIT);

        assertTrue(Files.exists(socket));
        assertTrue(Files.readAttributes(socket, BasicFileAttributes.class).isOther(), "not a socket: " + socket);
        assertEquals("rw-rw-rw-", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        assertEquals(List.of("agent.sock", "state"), namesIn(directory));
    }

    @Test
    void aMissingSocketDirectoryIsCreated() throws Exception {
        socket = directory.resolve("run/lb/agent.sock");

        start(WAIT);

        assertEquals(0, new AgentClient(socket).send(statusRequest()).get("jobs").size());
    }

    @Test
    void aStaleSocketFileWithNoAgentBehindItIsRemovedAtStart() throws Exception {
        try (ServerSocketChannel crashed = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            crashed.bind(UnixDomainSocketAddress.of(socket));
        }
        assertTrue(Files.exists(socket), "closing a listener leaves its file behind, like a crashed agent");

        start(WAIT);

        assertEquals("ok", new AgentClient(socket).send(statusRequest()).get("status").asText());
        assertEquals("rw-rw-rw-", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
    }

    @Test
    void aSecondServerOnALiveSocketFailsAndTheFirstKeepsServing() throws Exception {
        start(WAIT);
        AgentSocketServer second = new AgentSocketServer(socket, handler(), meters, WAIT);

        IOException error = assertThrows(IOException.class, second::start);

        assertTrue(error.getMessage().startsWith("another agent is serving " + socket), error.getMessage());
        assertTrue(Files.exists(socket));
        assertEquals("ok", new AgentClient(socket).send(statusRequest()).get("status").asText());
    }

    @Test
    void aStatusRoundTripThroughTheClientSeesRegisteredJobs() throws Exception {
        registry.stepStarted(42, 1000, 100, "batch", 0, 1);
        start(WAIT);

        JsonNode reply = new AgentClient(socket).send(statusRequest());

        assertEquals(1, reply.get("version").asInt());
        assertEquals(1, reply.get("jobs").size(), "the test runs as root, which sees every job: " + reply);
        assertEquals(42, reply.at("/jobs/0/job").asLong());
    }

    @Test
    void aRegistrationThroughTheSocketReachesTheRegistry() throws Exception {
        start(WAIT);
        AgentClient client = new AgentClient(socket);

        client.send(client.newRequest("step-start").put("job", 7).put("step", "batch").put("uid", 1000).put("gid", 100)
                .put("restart-count", 0).put("tasks", 2));
        client.send(client.newRequest("task-start").put("job", 7).put("step", "batch").put("task", 1).put("pid", 4242));

        assertEquals(4242L, registry.job(7).orElseThrow().steps().get("batch").taskPids().get(1));
    }

    @ParameterizedTest
    @MethodSource("longCommandLines")
    void aRequeuedJobWithALongCommandLineRegistersWithRepliesThePluginCanRead(ContainerManifest restored) throws Exception {
        // The job's container came here by migration; its requeued batch step now registers.
        registry.restoredHere(7, 1000, 100, restored);
        start(WAIT);
        String job = "\"version\":1,\"job\":7,\"step\":\"batch\"";

        try (RawConnection connection = RawConnection.open(socket)) {
            connection.send("{" + job + ",\"request\":\"step-start\",\"uid\":1000,\"gid\":100,\"restart-count\":1,\"tasks\":1}\n"
                    + "{" + job + ",\"request\":\"task-start\",\"task\":0,\"pid\":4242}\n"
                    + "{" + job + ",\"request\":\"step-end\"}\n");
            connection.endOutput();
            List<String> replies = connection.readUntilClosed(WAIT).lines();

            assertEquals(3, replies.size(), replies.toString());
            for (String reply : replies) {
                assertTrue(reply.length() < RequestHandler.REGISTRATION_REPLY_MAX_BYTES,
                        "slurmstepd's plugin reads at most " + RequestHandler.REGISTRATION_REPLY_MAX_BYTES + " bytes, the reply has "
                                + reply.length());
                assertEquals("ok", JSON.readTree(reply).get("status").asText());
            }
        }
        assertEquals(restored.argv(), registry.job(7).orElseThrow().container().argv());
    }

    static Stream<ContainerManifest> longCommandLines() {
        return Stream.of(LongManifests.twoHundredArgumentsOf1000Characters(), LongManifests.oneArgumentOf100Kilobytes());
    }

    @Test
    void anErrorReplyReachesTheClientAsARefusalWithItsCode() throws Exception {
        start(WAIT);
        AgentClient client = new AgentClient(socket);

        AgentRefusedException refusal = assertThrows(AgentRefusedException.class,
                () -> client.send(client.newRequest("job").put("job", 999)));

        assertEquals("unknown-job", refusal.code());
        assertTrue(refusal.getMessage().contains("999"), refusal.getMessage());
    }

    @Test
    void aConnectionMaySendSeveralRequestsAndGetsAReplyToEach() throws Exception {
        start(WAIT);

        try (RawConnection connection = RawConnection.open(socket)) {
            connection.send(STATUS + "\n" + STATUS + "\n" + STATUS + "\n");
            connection.endOutput();
            RawConnection.Received received = connection.readUntilClosed(WAIT);

            assertTrue(received.closed());
            assertEquals(List.of(OK_EMPTY_STATUS, OK_EMPTY_STATUS, OK_EMPTY_STATUS), received.lines());
        }
    }

    @Test
    void aLastLineWithoutNewlineIsStillAnsweredAtEndOfStream() throws Exception {
        start(WAIT);

        try (RawConnection connection = RawConnection.open(socket)) {
            connection.send(STATUS);
            connection.endOutput();

            assertEquals(List.of(OK_EMPTY_STATUS), connection.readUntilClosed(WAIT).lines());
        }
    }

    @Test
    void anErrorReplyClosesTheConnectionAndLaterLinesGoUnanswered() throws Exception {
        start(WAIT);

        try (RawConnection connection = RawConnection.open(socket)) {
            connection.send("nonsense\n" + STATUS + "\n");
            connection.endOutput();
            RawConnection.Received received = connection.readUntilClosed(WAIT);

            assertTrue(received.closed());
            assertEquals(1, received.lines().size(), received.text());
            assertEquals("malformed", JSON.readTree(received.lines().get(0)).at("/error/code").asText());
        }
    }

    @Test
    void anOversizedLineGetsTooLargeAndIsClosedWhileNewConnectionsAreStillServed() throws Exception {
        start(WAIT);

        try (RawConnection connection = RawConnection.open(socket)) {
            connection.send("x".repeat(AgentSocketServer.MAX_LINE_BYTES + 1000));
            RawConnection.Received received = connection.readUntilClosed(WAIT);

            assertTrue(received.closed(), "the connection must be closed");
            assertEquals(1, received.lines().size(), received.text());
            JsonNode reply = JSON.readTree(received.lines().get(0));
            assertEquals("too-large", reply.at("/error/code").asText());
        }
        assertEquals("ok", new AgentClient(socket).send(statusRequest()).get("status").asText());
        assertEquals(1.0, count("invalid", "too-large"));
    }

    @Test
    void aLineOfExactlyTheLimitIsServedAndOneByteMoreIsTooLarge() throws Exception {
        start(WAIT);
        String padded = STATUS + " ".repeat(AgentSocketServer.MAX_LINE_BYTES - STATUS.length());

        try (RawConnection connection = RawConnection.open(socket)) {
            connection.send(padded + "\n");
            connection.endOutput();
            assertEquals(List.of(OK_EMPTY_STATUS), connection.readUntilClosed(WAIT).lines());
        }
        try (RawConnection connection = RawConnection.open(socket)) {
            connection.send(padded + " \n");
            connection.endOutput();
            assertTrue(connection.readUntilClosed(WAIT).text().contains("\"too-large\""));
        }
    }

    @Test
    void aConnectionThatSendsNothingIsClosedAfterTheRequestTimeoutWhileOthersAreServed() throws Exception {
        start(Duration.ofMillis(300));

        try (RawConnection idle = RawConnection.open(socket)) {
            long opened = System.nanoTime();
            assertEquals("ok", new AgentClient(socket).send(statusRequest()).get("status").asText(),
                    "an idle connection must not hold up others");

            RawConnection.Received received = idle.readUntilClosed(WAIT);

            long elapsedMillis = (System.nanoTime() - opened) / 1_000_000;
            assertTrue(received.closed(), "the idle connection was not closed");
            assertEquals("", received.text());
            assertTrue(elapsedMillis >= 250, "closed before its timeout: " + elapsedMillis + " ms");
        }
        assertEquals("ok", new AgentClient(socket).send(statusRequest()).get("status").asText());
    }

    @Test
    void aConnectionThatStallsMidLineIsClosedAfterTheRequestTimeoutWithoutAReply() throws Exception {
        start(Duration.ofMillis(300));

        try (RawConnection stalled = RawConnection.open(socket)) {
            stalled.send("{\"version\":1,\"request\":");

            RawConnection.Received received = stalled.readUntilClosed(WAIT);

            assertTrue(received.closed());
            assertEquals("", received.text());
        }
    }

    @Test
    void clientsThatNeverReadTheirRepliesCannotTieUpTheAgent() throws Exception {
        start(Duration.ofMillis(300));
        // Each connection asks for far more replies than the socket buffers hold and reads none.
        byte[] flood = (STATUS + "\n").repeat(30_000).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        List<RawConnection> flooding = new ArrayList<>();
        List<Thread> senders = new ArrayList<>();
        try {
            for (int i = 0; i < AgentSocketServer.HANDLER_THREADS; i++) {
                RawConnection connection = RawConnection.open(socket);
                flooding.add(connection);
                Thread sender = new Thread(() -> connection.send(flood), "flooding-client-" + i);
                sender.setDaemon(true);
                sender.start();
                senders.add(sender);
            }

            try (RawConnection polite = RawConnection.open(socket)) {
                polite.send(STATUS + "\n");
                polite.endOutput();
                RawConnection.Received received = polite.readUntilClosed(WAIT);

                assertEquals(List.of(OK_EMPTY_STATUS), received.lines(), "the agent stopped serving");
            }
        } finally {
            for (RawConnection connection : flooding) {
                connection.close();
            }
            for (Thread sender : senders) {
                sender.join(5_000);
            }
        }
    }

    @Test
    void aRequestWhoseNewlineNeverComesIsNotCarriedOutWhenTheTimeoutCutsItOff() throws Exception {
        for (long job = 1; job <= AgentSocketServer.HANDLER_THREADS; job++) {
            registry.stepStarted(job, 1000, 100, "batch", 0, 1);
        }
        start(Duration.ofMillis(300));
        List<RawConnection> stalled = new ArrayList<>();
        try {
            for (long job = 1; job <= AgentSocketServer.HANDLER_THREADS; job++) {
                RawConnection connection = RawConnection.open(socket);
                stalled.add(connection);
                connection.send("{\"version\":1,\"request\":\"job-end\",\"job\":" + job + "}");
            }
            for (RawConnection connection : stalled) {
                RawConnection.Received received = connection.readUntilClosed(WAIT);

                assertTrue(received.closed());
                assertEquals("", received.text(), "a line cut off by the timeout was answered");
            }
        } finally {
            for (RawConnection connection : stalled) {
                connection.close();
            }
        }
        assertEquals(AgentSocketServer.HANDLER_THREADS, registry.size(), "a line cut off by the timeout was carried out");
    }

    @Test
    void theTimeoutAppliesPerRequestSoAConnectionMayStayWhileItKeepsSending() throws Exception {
        start(Duration.ofMillis(1_000));

        try (RawConnection connection = RawConnection.open(socket)) {
            for (int i = 0; i < 4; i++) {
                connection.send(STATUS + "\n");
                Thread.sleep(300);
            }
            connection.endOutput();

            assertEquals(4, connection.readUntilClosed(WAIT).lines().size());
        }
    }

    @Test
    void beyondTheWaitingConnectionsANewConnectionIsToldTheAgentIsBusy() throws Exception {
        start(Duration.ofSeconds(30));
        List<RawConnection> idle = new ArrayList<>();
        try {
            for (int i = 0; i < AgentSocketServer.HANDLER_THREADS + AgentSocketServer.WAITING_CONNECTIONS; i++) {
                idle.add(RawConnection.open(socket));
            }
            try (RawConnection oneTooMany = RawConnection.open(socket)) {
                RawConnection.Received received = oneTooMany.readUntilClosed(WAIT);

                assertTrue(received.closed());
                assertEquals("busy", JSON.readTree(received.lines().get(0)).at("/error/code").asText());
            }
        } finally {
            for (RawConnection connection : idle) {
                connection.close();
            }
        }
        assertEquals(1.0, count("invalid", "busy"));
        assertEquals("ok", new AgentClient(socket).send(statusRequest()).get("status").asText(),
                "once the idle connections are gone the agent serves again");
    }

    @Test
    void everyRequestAndResultIsCountedFromZeroBeforeTheFirstRequest() {
        new AgentSocketServer(socket, handler(), meters, WAIT);

        for (String request : List.of("step-start", "task-start", "step-end", "job-end", "status", "job", "migrate", "history")) {
            assertEquals(0.0, count(request, "ok"), request);
            for (ErrorCode code : ErrorCode.values()) {
                assertEquals(0.0, count(request, code.wireName()), request + " " + code.wireName());
            }
        }
        assertEquals(0.0, count("invalid", "malformed"));
        assertEquals(0.0, count("invalid", "busy"));
        assertNull(meters.find("lifeboat_socket_requests").tag("request", "invalid").tag("result", "ok").counter(),
                "a request no one could name never succeeds");
    }

    @Test
    void requestsAreCountedByRequestAndResult() throws Exception {
        start(WAIT);
        AgentClient client = new AgentClient(socket);

        client.send(statusRequest());
        client.send(statusRequest());
        assertThrows(AgentRefusedException.class, () -> client.send(client.newRequest("job").put("job", 5)));
        assertThrows(AgentRefusedException.class, () -> client.send(client.newRequest("no-such-request")));
        try (RawConnection connection = RawConnection.open(socket)) {
            connection.send("not json\n");
            connection.readUntilClosed(WAIT);
        }

        assertEquals(2.0, count("status", "ok"));
        assertEquals(1.0, count("job", "unknown-job"));
        assertEquals(1.0, count("invalid", "unknown-request"));
        assertEquals(1.0, count("invalid", "malformed"));
        assertEquals(5.0, meters.get("lifeboat_socket_requests").counters().stream().mapToDouble(c -> c.count()).sum());
    }

    @Test
    void theAcceptLoopIsAliveWhileServingAndAStopIsNoFailure() throws Exception {
        AgentSocketServer server = start(WAIT);
        assertEquals(Optional.empty(), server.acceptLoop().failure());
        server.stop();
        assertEquals(Optional.empty(), server.acceptLoop().failure());
    }

    @Test
    void stopRemovesTheSocketFileAndAClientThenGetsAClearIOException() throws Exception {
        AgentSocketServer server = start(WAIT);

        server.stop();

        assertFalse(Files.exists(socket));
        IOException error = assertThrows(IOException.class, () -> new AgentClient(socket).send(statusRequest()));
        assertTrue(error.getMessage().startsWith("cannot reach the lifeboat agent at " + socket), error.getMessage());
    }

    @Test
    void stopClosesOpenConnectionsPromptlyAndEndsTheServersThreads() throws Exception {
        AgentSocketServer server = start(Duration.ofSeconds(30));
        try (RawConnection idle = RawConnection.open(socket)) {
            assertEquals("ok", new AgentClient(socket).send(statusRequest()).get("status").asText());

            long stopping = System.nanoTime();
            server.stop();
            long stopMillis = (System.nanoTime() - stopping) / 1_000_000;

            assertTrue(stopMillis < 3_000, "stop took " + stopMillis + " ms");
            assertTrue(idle.readUntilClosed(WAIT).closed(), "an open connection must be closed at stop");
        }
        assertTrue(serverThreadsEnd(Duration.ofSeconds(5)), "threads still alive: " + serverThreads());
    }

    @Test
    void aPeerIsJudgedByTheCredentialsTheKernelReportsForItsConnection() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")) && Files.isExecutable(Path.of("/usr/bin/perl")),
                "needs setpriv and perl to connect as another user");
        registry.stepStarted(42, NOBODY, NOBODY, "batch", 0, 1);
        registry.stepStarted(43, 1000, 100, "batch", 0, 1);
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
        start(WAIT);

        JsonNode registration = asNobody("{\"version\":1,\"request\":\"job-end\",\"job\":42}");
        JsonNode status = asNobody(STATUS);
        JsonNode otherUsersJob = asNobody("{\"version\":1,\"request\":\"job\",\"job\":43}");

        assertEquals("not-permitted", registration.at("/error/code").asText(), registration.toString());
        assertEquals(1, status.get("jobs").size(), status.toString());
        assertEquals(42, status.at("/jobs/0/job").asLong());
        assertEquals("not-permitted", otherUsersJob.at("/error/code").asText(), otherUsersJob.toString());
        assertTrue(registry.job(42).isPresent());
    }

    // --- helpers ----------------------------------------------------------------------------------

    private AgentSocketServer start(Duration requestTimeout) throws IOException {
        AgentSocketServer server = new AgentSocketServer(socket, handler(), meters, requestTimeout);
        server.start();
        servers.add(server);
        return server;
    }

    private RequestHandler handler() {
        return new RequestHandler(registry, new Authorizer(64030), RequestHandlerTest::refuseMigrations, JobNetworkRequests.NONE, List::of);
    }

    private com.fasterxml.jackson.databind.node.ObjectNode statusRequest() {
        return new AgentClient(socket).newRequest("status");
    }

    private double count(String request, String result) {
        return meters.get("lifeboat_socket_requests").tag("request", request).tag("result", result).counter().count();
    }

    /** Sends one line as the user nobody, from a process of its own, and returns the reply. */
    private JsonNode asNobody(String line) throws Exception {
        String client = "my $s = IO::Socket::UNIX->new(Type => IO::Socket::SOCK_STREAM(), Peer => $ARGV[0])"
                + " or die \"connect: $!\\n\"; $s->autoflush(1); print $s $ARGV[1], \"\\n\"; print scalar <$s>;";
        CommandResult result = new ProcessCommandRunner().run(List.of("/usr/bin/setpriv",
                "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups",
                "/usr/bin/perl", "-MIO::Socket::UNIX", "-e", client, socket.toString(), line), Duration.ofSeconds(20));
        result.requireSuccess();
        return JSON.readTree(result.stdout());
    }

    private static List<String> namesIn(Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(file -> file.getFileName().toString()).sorted().toList();
        }
    }

    static List<String> serverThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(Thread::isAlive)
                .map(Thread::getName)
                .filter(name -> name.startsWith("lifeboat-socket"))
                .toList();
    }

    static boolean serverThreadsEnd(Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (!serverThreads().isEmpty()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }
}
