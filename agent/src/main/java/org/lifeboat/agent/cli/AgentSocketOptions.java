package org.lifeboat.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import org.lifeboat.agent.socket.AgentClient;
import org.lifeboat.agent.socket.AgentRefusedException;
import picocli.CommandLine.Option;

/** What every command that talks to the node's agent shares: where its socket is, and how a failed request ends. */
final class AgentSocketOptions {

    static final int EXIT_UNREACHABLE = 1;
    static final int EXIT_REFUSED = 4;

    @Option(names = "--socket", paramLabel = "PATH", defaultValue = "/run/lifeboat/agent.sock",
            description = "The agent's socket (default: ${DEFAULT-VALUE}).")
    private Path socket;

    AgentClient client() {
        return new AgentClient(socket);
    }

    /** Sends the request; on failure says why on {@code err} and throws with the command's exit code. */
    JsonNode send(AgentClient client, ObjectNode request, PrintWriter err, String command) throws FailedRequest {
        try {
            return client.send(request);
        } catch (IOException e) {
            err.println(command + ": " + e.getMessage());
            throw new FailedRequest(EXIT_UNREACHABLE);
        } catch (AgentRefusedException e) {
            err.println(command + ": " + e.code() + ": " + e.getMessage());
            throw new FailedRequest(EXIT_REFUSED);
        }
    }

    /** A request that failed and was reported; the command exits with {@link #exitCode()}. */
    static final class FailedRequest extends Exception {

        private static final long serialVersionUID = 1L;

        private final int exitCode;

        FailedRequest(int exitCode) {
            super(null, null, false, false);
            this.exitCode = exitCode;
        }

        int exitCode() {
            return exitCode;
        }
    }
}
