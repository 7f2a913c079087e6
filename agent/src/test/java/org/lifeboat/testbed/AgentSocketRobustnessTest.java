package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.socket.AgentClient;

/** The running node agent survives garbage on its socket and keeps serving. */
@TestbedIntegration
final class AgentSocketRobustnessTest {

    private static final int INPUTS = 2_000;
    private static final long SEED = 20261122L;

    @Test
    void thousandsOfMalformedAndOversizedMessagesNeitherCrashNorWedgeTheAgent(Testbed testbed) throws Exception {
        String agentPid = Files.readString(testbed.agentPidFile("node2")).strip();
        Random random = new Random(SEED);
        ExecutorService senders = Executors.newFixedThreadPool(8);
        try {
            Future<?>[] sent = new Future<?>[INPUTS];
            for (int i = 0; i < INPUTS; i++) {
                byte[] input = garbage(random, i);
                sent[i] = senders.submit(() -> sendAndReadReply(testbed, input));
            }
            for (Future<?> future : sent) {
                future.get(30, TimeUnit.SECONDS);
            }
        } finally {
            senders.shutdownNow();
        }

        AgentClient client = new AgentClient(testbed.agentSocket("node2"));
        assertEquals("ok", client.send(client.newRequest("status")).path("status").asText());
        assertEquals(agentPid, Files.readString(testbed.agentPidFile("node2")).strip());
        assertTrue(Files.exists(java.nio.file.Path.of("/proc", agentPid)), "the agent process died");
    }

    /** A mix of random bytes, JSON that breaks the protocol's rules, and lines over the size limit. */
    private static byte[] garbage(Random random, int index) {
        switch (index % 5) {
            case 0: {
                byte[] bytes = new byte[1 + random.nextInt(512)];
                random.nextBytes(bytes);
                return bytes;
            }
            case 1:
                return ("{\"version\":" + random.nextInt() + ",\"request\":\"status\"}\n").getBytes(StandardCharsets.UTF_8);
            case 2:
                return ("{\"version\":1,\"request\":\"step-start\",\"job\":" + random.nextLong() + "}\n").getBytes(StandardCharsets.UTF_8);
            case 3:
                return "[".repeat(1 + random.nextInt(20_000)).concat("\n").getBytes(StandardCharsets.UTF_8);
            default:
                return "x".repeat(70_000 + random.nextInt(10_000)).getBytes(StandardCharsets.UTF_8);
        }
    }

    /** The agent must accept every connection; what happens after that is its choice. */
    private static void sendAndReadReply(Testbed testbed, byte[] input) {
        UnixSocketChannel channel;
        try {
            channel = UnixSocketChannel.open(new UnixSocketAddress(testbed.agentSocket("node2").toFile()));
        } catch (IOException e) {
            throw new AssertionError("the agent refused a connection: " + e.getMessage(), e);
        }
        try (channel) {
            OutputStream output = Channels.newOutputStream(channel);
            output.write(input);
            output.write('\n');
            output.flush();
            InputStream reply = Channels.newInputStream(channel);
            reply.readNBytes(4096);
        } catch (IOException closedByTheAgent) {
            // The agent answers a bad line with an error and closes the connection, unread input and all.
        }
    }
}
