package org.lifeboat.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import org.lifeboat.agent.socket.AgentClient;
import org.lifeboat.agent.socket.AgentRefusedException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/** What every command that talks to the node's agent shares: where its socket is, and how a failed request ends. */
final class AgentSocketOptions {

    static final int EXIT_UNREACHABLE = 1;
    static final int EXIT_REFUSED = 4;

    // The default is the agent's own; AgentConfigDefaults puts socket-path from the node's agent.yaml before it.
    @Option(names = "--socket", paramLabel = "PATH", defaultValue = "/run/lifeboat/agent.sock",
            description = "The agent's socket (default: socket-path in /etc/lifeboat/agent.yaml if readable, else"
                    + " /run/lifeboat/agent.sock).")
    private Path socket;

    AgentClient client() {
        return new AgentClient(socket);
    }

    /** Sends the request; a failure says why, under the command's name, with its exit code. */
    JsonNode send(AgentClient client, ObjectNode request, CommandSpec command) throws CommandFailure {
        try {
            return client.send(request);
        } catch (IOException e) {
            throw new CommandFailure(EXIT_UNREACHABLE, JsonOutput.UNREACHABLE, e.getMessage(),
                    command.qualifiedName() + ": " + e.getMessage());
        } catch (AgentRefusedException e) {
            throw new CommandFailure(EXIT_REFUSED, e.code(), e.getMessage(),
                    command.qualifiedName() + ": " + e.code() + ": " + e.getMessage());
        }
    }
}
