package org.lifeboat.agent.socket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The client against stand-in agents that answer exactly as told. */
@Timeout(30)
class AgentClientTest {

    @TempDir
    Path directory;

    @Test
    void aNewRequestCarriesTheProtocolVersionAndTheRequestType() {
        assertEquals("{\"version\":1,\"request\":\"status\"}",
                new AgentClient(directory.resolve("agent.sock")).newRequest("status").toString());
    }

    @Test
    void theRequestIsSentAsOneLineAndAnOkReplyIsReturned() throws Exception {
        Path socket = directory.resolve("agent.sock");
        try (ServerSocketChannel agent = listen(socket)) {
            CompletableFuture<String> received = answerOnce(agent, "{\"version\":1,\"status\":\"ok\",\"jobs\":[]}\n");

            JsonNode reply = new AgentClient(socket).send(new AgentClient(socket).newRequest("status"));

            assertEquals("{\"version\":1,\"request\":\"status\"}\n", received.get(10, TimeUnit.SECONDS));
            assertEquals(0, reply.get("jobs").size());
        }
    }

    @Test
    void anErrorReplyIsARefusalWithTheAgentsCodeAndMessage() throws Exception {
        Path socket = directory.resolve("agent.sock");
        try (ServerSocketChannel agent = listen(socket)) {
            answerOnce(agent, "{\"version\":1,\"status\":\"error\",\"error\":{\"code\":\"not-permitted\",\"message\":\"not yours\"}}\n");

            AgentRefusedException refusal = assertThrows(AgentRefusedException.class,
                    () -> new AgentClient(socket).send(new AgentClient(socket).newRequest("job").put("job", 1)));

            assertEquals("not-permitted", refusal.code());
            assertEquals("not yours", refusal.getMessage());
        }
    }

    @Test
    void anAgentThatClosesWithoutReplyingIsAClearIOException() throws Exception {
        Path socket = directory.resolve("agent.sock");
        try (ServerSocketChannel agent = listen(socket)) {
            answerOnce(agent, "");

            IOException error = assertThrows(IOException.class,
                    () -> new AgentClient(socket).send(new AgentClient(socket).newRequest("status")));

            assertEquals("the agent at " + socket + " closed the connection without a reply", error.getMessage());
        }
    }

    @Test
    void aReplyThatIsNotJsonIsAnIOExceptionNamingTheSocket() throws Exception {
        Path socket = directory.resolve("agent.sock");
        try (ServerSocketChannel agent = listen(socket)) {
            answerOnce(agent, "HTTP/1.1 400 Bad Request\n");

            IOException error = assertThrows(IOException.class,
                    () -> new AgentClient(socket).send(new AgentClient(socket).newRequest("status")));

            assertTrue(error.getMessage().startsWith("cannot reach the lifeboat agent at " + socket), error.getMessage());
        }
    }

    @Test
    void noAgentAtThePathIsAClearIOException() {
        Path socket = directory.resolve("agent.sock");

        IOException error = assertThrows(IOException.class,
                () -> new AgentClient(socket).send(new AgentClient(socket).newRequest("status")));

        assertTrue(error.getMessage().startsWith("cannot reach the lifeboat agent at " + socket), error.getMessage());
    }

    private static ServerSocketChannel listen(Path socket) throws IOException {
        ServerSocketChannel agent = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        agent.bind(UnixDomainSocketAddress.of(socket));
        return agent;
    }

    /** Accepts one connection, reads one request line, writes {@code reply} and closes; yields the line read. */
    private static CompletableFuture<String> answerOnce(ServerSocketChannel agent, String reply) {
        return CompletableFuture.supplyAsync(() -> {
            try (SocketChannel connection = agent.accept()) {
                StringBuilder line = new StringBuilder();
                ByteBuffer oneByte = ByteBuffer.allocate(1);
                while (line.indexOf("\n") < 0 && connection.read(oneByte.clear()) > 0) {
                    line.append((char) oneByte.get(0));
                }
                connection.write(ByteBuffer.wrap(reply.getBytes(StandardCharsets.UTF_8)));
                return line.toString();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }
}
