package org.lifeboat.agent.cli;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import org.lifeboat.agent.socket.AgentSocketServer;
import org.lifeboat.agent.socket.RequestHandler;

/** A real agent socket in a test's directory, answering with the handler the test gives it. */
final class TestAgentSocket implements AutoCloseable {

    private final Path path;
    private final AgentSocketServer server;

    private TestAgentSocket(Path path, AgentSocketServer server) {
        this.path = path;
        this.server = server;
    }

    static TestAgentSocket start(Path directory, RequestHandler handler) throws Exception {
        Path path = directory.resolve("agent.sock");
        AgentSocketServer server = new AgentSocketServer(path, handler, new SimpleMeterRegistry(), Duration.ofSeconds(5));
        server.start();
        return new TestAgentSocket(path, server);
    }

    Path path() {
        return path;
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }
}
