package org.lifeboat.predictor.http;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.lifeboat.predictor.FakeDrainer;
import org.lifeboat.predictor.FakeEvacuator;
import org.lifeboat.predictor.MutableClock;
import org.lifeboat.predictor.NodeDirectory;
import org.lifeboat.predictor.PredictionBook;
import org.lifeboat.predictor.RecordingOutcomes;
import org.lifeboat.predictor.config.PredictorConfig;

/**
 * The two intakes on a real JDK HTTP server on a free loopback port, mounted where the agent mounts
 * them, with fakes behind: Slurm knows node1..node3, all of which the intake accepts; the clock is the
 * test's. Requests carry the token {@link #TOKEN} unless sent {@link #sendAsIs as they are}.
 */
final class IntakeServer implements AutoCloseable {

    static final String ALERTMANAGER_PATH = "/api/v1/alertmanager";
    static final String PREDICTIONS_PATH = "/api/v1/predictions";
    static final String TOKEN = "s3cret";

    static {
        // The JDK server writes headers and body separately; without TCP_NODELAY each answer waits
        // for a delayed ACK (about 40 ms), which makes thousands of requests slow for nothing.
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    final MutableClock clock;
    final FakeDrainer drainer = new FakeDrainer();
    final FakeEvacuator evacuator = new FakeEvacuator();
    final RecordingOutcomes outcomes = new RecordingOutcomes();
    final PredictionBook book;
    volatile boolean slurmDown;
    private final HttpServer server;
    private final ExecutorService threads = Executors.newFixedThreadPool(4);
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    IntakeServer(PredictorConfig config, MutableClock clock) throws IOException {
        this.clock = clock;
        this.book = new PredictionBook(config.confidenceThreshold(), config.holdDown(), drainer, evacuator, outcomes,
                Runnable::run, clock);
        NodeDirectory nodes = node -> {
            if (slurmDown) {
                throw new IOException("scontrol: error: Unable to contact slurm controller");
            }
            return Set.of("node1", "node2", "node3").contains(node);
        };
        PredictionHandlers handlers = new PredictionHandlers(config, BearerToken.of(TOKEN),
                AcceptedNodes.from(Optional.of(List.of(PredictorConfig.EVERY_NODE)), "node1"), nodes, book, outcomes, clock);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext(ALERTMANAGER_PATH, handlers.alertmanager());
        server.createContext(PREDICTIONS_PATH, handlers.predictions());
        server.setExecutor(threads);
        server.start();
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    }

    HttpResponse<String> postJson(String path, String body) throws IOException, InterruptedException {
        return send(HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    HttpResponse<String> send(HttpRequest.Builder request) throws IOException, InterruptedException {
        return sendAsIs(request.setHeader("Authorization", "Bearer " + TOKEN));
    }

    HttpResponse<String> sendAsIs(HttpRequest.Builder request) throws IOException, InterruptedException {
        return client.send(request.timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
