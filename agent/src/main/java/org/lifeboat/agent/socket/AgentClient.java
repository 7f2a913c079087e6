package org.lifeboat.agent.socket;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;
import jnr.unixsocket.UnixSocketAddress;
import jnr.unixsocket.UnixSocketChannel;
import org.lifeboat.agent.json.AgentJson;

/** The client side of the agent socket, for the {@code lifeboat} command: one request, one reply. */
public final class AgentClient {

    private final Path socketPath;
    private final ObjectMapper json = AgentJson.mapper();

    public AgentClient(Path socketPath) {
        this.socketPath = Objects.requireNonNull(socketPath, "socketPath");
    }

    /** A request object with the protocol version and request type filled in. */
    public ObjectNode newRequest(String request) {
        ObjectNode message = json.createObjectNode();
        message.put("version", RequestHandler.PROTOCOL_VERSION);
        message.put("request", request);
        return message;
    }

    /**
     * Sends the request and returns the reply when its status is ok.
     *
     * @throws AgentRefusedException the agent answered with an error
     * @throws IOException the agent could not be reached or did not answer
     */
    public JsonNode send(ObjectNode request) throws IOException, AgentRefusedException {
        try (UnixSocketChannel channel = UnixSocketChannel.open(new UnixSocketAddress(socketPath.toFile()))) {
            OutputStream output = Channels.newOutputStream(channel);
            output.write((json.writeValueAsString(request) + "\n").getBytes(StandardCharsets.UTF_8));
            output.flush();
            BufferedReader input = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
            String line = input.readLine();
            if (line == null) {
                throw new IOException("the agent at " + socketPath + " closed the connection without a reply");
            }
            JsonNode reply = json.readTree(line);
            if (!"ok".equals(reply.path("status").asText())) {
                JsonNode error = reply.path("error");
                throw new AgentRefusedException(error.path("code").asText("unknown"), error.path("message").asText(line));
            }
            return reply;
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("the agent at")) {
                throw e;
            }
            throw new IOException("cannot reach the lifeboat agent at " + socketPath + ": " + e.getMessage(), e);
        }
    }
}
