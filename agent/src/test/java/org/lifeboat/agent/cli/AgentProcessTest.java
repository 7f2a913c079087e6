package org.lifeboat.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Starts the agent as its own JVM, as systemd would, and stops it with SIGTERM. */
class AgentProcessTest {

    private static final Duration STARTUP_LIMIT = Duration.ofSeconds(20);

    @TempDir
    Path directory;

    private Process agent;

    @AfterEach
    void killAgent() {
        if (agent != null) {
            agent.destroyForcibly();
        }
    }

    @Test
    void servesHealthUntilSigtermThenStopsCleanlyWithStatus143() throws Exception {
        int port = freePort();
        Path checkpoints = Files.createDirectory(directory.resolve("checkpoints"));
        Path config = Files.writeString(directory.resolve("agent.yaml"),
                "node-name: process-test-node\n"
                + "state-directory: " + directory.resolve("state") + "\n"
                + "checkpoint-directory: " + checkpoints + "\n"
                + "socket-path: " + directory.resolve("agent.sock") + "\n"
                + "slurm-user: root\n"
                + "peer:\n  address: 127.0.0.1\n  port: 0\n  authentication: none\n"
                + "http:\n  address: 127.0.0.1\n  port: " + port + "\n");
        Path output = directory.resolve("agent.log");

        agent = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp", System.getProperty("java.class.path"),
                        LifeboatCommand.class.getName(), "agent", "--config", config.toString())
                .redirectErrorStream(true)
                .redirectOutput(output.toFile())
                .start();
        awaitHealthy(port, output);
        assertTrue(Files.exists(directory.resolve("agent.sock")), "socket not created");

        agent.destroy();

        assertTrue(agent.waitFor(20, TimeUnit.SECONDS), "agent did not exit after SIGTERM");
        String log = Files.readString(output);
        assertEquals(143, agent.exitValue(), log);
        assertTrue(log.contains("lifeboat agent dev started on node process-test-node, socket " + directory.resolve("agent.sock")
                + ", http on 127.0.0.1:" + port), log);
        assertTrue(log.contains("lifeboat agent stopped"), log);
        assertTrue(Files.isDirectory(directory.resolve("state")), "state directory not created");
        assertTrue(Files.notExists(directory.resolve("agent.sock")), "socket left behind after stop");
    }

    private void awaitHealthy(int port, Path output) throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        HttpRequest health = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                .timeout(Duration.ofSeconds(2))
                .build();
        Instant deadline = Instant.now().plus(STARTUP_LIMIT);
        while (Instant.now().isBefore(deadline)) {
            if (!agent.isAlive()) {
                fail("agent exited with " + agent.exitValue() + " before serving /health:\n" + Files.readString(output));
            }
            try {
                if (client.send(health, HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notListeningYet) {
                // Expected until the agent has bound its port.
            }
            Thread.sleep(100);
        }
        fail("agent did not serve /health within " + STARTUP_LIMIT + ":\n" + Files.readString(output));
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
