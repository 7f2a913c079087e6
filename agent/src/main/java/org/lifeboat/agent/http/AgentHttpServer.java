package org.lifeboat.agent.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.lifeboat.agent.config.HttpConfig;
import org.lifeboat.agent.health.Dependency;
import org.lifeboat.agent.health.DependencyState;
import org.lifeboat.agent.health.HealthReport;
import org.lifeboat.agent.lifecycle.LifeCycleComponent;

/**
 * Serves GET /health and GET /metrics for Prometheus. /health answers 200 while every dependency the
 * agent needs to move jobs is ready, and 503 while one is not (CRIU missing or `criu check` failed,
 * munged or slurmctld not answering, the checkpoint directory gone or full), naming each dependency
 * and why: a node that cannot move jobs is one a monitor should name, not one it should take as fine.
 * It reports the dependency monitor's last round, so answering it costs no check.
 *
 * <p>Every local user can reach the port. The JDK server reads a request's headers and body on one of
 * the {@code http.threads} threads, blocking, so a client that announces a body and sends nothing holds
 * a thread: such a connection is closed once it has taken {@code http.request-timeout-seconds}, and
 * connections beyond the threads and a short queue are closed at once rather than waiting behind them.
 */
public final class AgentHttpServer implements LifeCycleComponent {

    static final String PROMETHEUS_TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    private static final String JSON_CONTENT_TYPE = "application/json";
    private static final String PLAIN_TEXT_CONTENT_TYPE = "text/plain; charset=utf-8";
    private static final Logger LOG = Logger.getLogger(AgentHttpServer.class.getName());
    // The JDK's own deadline, in whole seconds, on a connection still sending its request (headers and body).
    private static final String MAX_REQUEST_TIME_PROPERTY = "sun.net.httpserver.maxReqTime";
    // Requests waiting for a thread: enough for a burst of scrapes, few enough that waiting stays short.
    private static final int QUEUED_REQUESTS = 32;

    private final HttpConfig config;
    private final PrometheusMeterRegistry registry;
    private final String nodeName;
    private final String version;
    private final Supplier<HealthReport> health;
    private final Map<String, Supplier<Response>> routes;
    // Handlers of their own (the prediction intake), each mounted at its path with its own methods.
    private final Map<String, HttpHandler> apiHandlers;
    // Created by start(), so that a server that never starts holds no socket.
    private HttpServer server;
    // Rejecting (the queue full) makes the JDK server close that connection: it never blocks the acceptor.
    private final ExecutorService handlerThreads;

    public AgentHttpServer(HttpConfig config, String nodeName, String version, PrometheusMeterRegistry registry,
                           Supplier<HealthReport> health) {
        this(config, nodeName, version, registry, health, Map.of());
    }

    /** @param health the dependencies' last report (the dependency monitor's), read at each GET /health */
    public AgentHttpServer(HttpConfig config, String nodeName, String version, PrometheusMeterRegistry registry,
                           Supplier<HealthReport> health, Map<String, HttpHandler> apiHandlers) {
        this.apiHandlers = Map.copyOf(apiHandlers);
        this.config = Objects.requireNonNull(config, "config");
        this.handlerThreads = new ThreadPoolExecutor(config.threads(), config.threads(), 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(QUEUED_REQUESTS), runnable -> {
                    Thread thread = new Thread(runnable, "lifeboat-http");
                    thread.setDaemon(true);
                    return thread;
                });
        this.registry = Objects.requireNonNull(registry, "registry");
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
        this.version = Objects.requireNonNull(version, "version");
        this.health = Objects.requireNonNull(health, "health");
        this.routes = Map.of("/health", this::health, "/metrics", this::metrics);
    }

    @Override
    public void start() throws IOException {
        InetSocketAddress address = new InetSocketAddress(config.address(), config.port());
        if (address.isUnresolved()) {
            throw new IOException("cannot resolve http.address '" + config.address() + "'");
        }
        // Read once, when the JVM's first HttpServer is made: in the agent this one, so it is set here, just
        // before. The JDK has no per-server setting; nothing else in the agent serves HTTP.
        System.setProperty(MAX_REQUEST_TIME_PROPERTY, Long.toString(config.requestTimeout().toSeconds()));
        try {
            server = HttpServer.create(address, 0);
        } catch (IOException e) {
            throw new IOException("cannot listen on " + config.address() + ":" + config.port() + ": " + e.getMessage(), e);
        }
        server.setExecutor(handlerThreads);
        server.createContext("/", this::handle);
        apiHandlers.forEach(server::createContext);
        server.start();
    }

    /** The address actually listened on, which tells the port when the configuration asked for port 0. */
    public InetSocketAddress boundAddress() {
        return server.getAddress();
    }

    @Override
    public void stop() {
        // No grace period: on JDK 17, stop(n) always waits the full n seconds, and a cut-off scrape is retried.
        server.stop(0);
        handlerThreads.shutdownNow();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try {
            Response response = respondTo(exchange.getRequestMethod(), exchange.getRequestURI().getPath());
            if (response.status() == 405) {
                exchange.getResponseHeaders().set("Allow", "GET");
            }
            exchange.getResponseHeaders().set("Content-Type", response.contentType());
            exchange.sendResponseHeaders(response.status(), response.body().length);
            try (OutputStream body = exchange.getResponseBody()) {
                body.write(response.body());
            }
        } finally {
            exchange.close();
        }
    }

    private Response respondTo(String method, String path) {
        Supplier<Response> route = routes.get(path);
        if (route == null) {
            return Response.plainText(404, "not found");
        }
        if (!"GET".equals(method)) {
            return Response.plainText(405, "method not allowed");
        }
        try {
            return route.get();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "answering GET " + path + " failed", e);
            return Response.plainText(500, "internal error");
        }
    }

    private Response health() {
        HealthReport report = health.get();
        return new Response(report.ready() ? 200 : 503, JSON_CONTENT_TYPE, healthBody(report));
    }

    private Response metrics() {
        String text = registry.scrape(PROMETHEUS_TEXT_CONTENT_TYPE);
        return new Response(200, PROMETHEUS_TEXT_CONTENT_TYPE, text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The fields /health always had (status, node, version, ready, and reason when not ready: every
     * dependency that is not, with why), then each dependency's state by its label.
     */
    private byte[] healthBody(HealthReport report) {
        Optional<String> unready = report.reason();
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("status", unready.isEmpty() ? "ok" : "unready");
        fields.put("node", nodeName);
        fields.put("version", version);
        fields.put("ready", unready.isEmpty());
        unready.ifPresent(reason -> fields.put("reason", reason));
        Map<String, Object> dependencies = new LinkedHashMap<>();
        for (Map.Entry<Dependency, DependencyState> dependency : report.dependencies().entrySet()) {
            Map<String, Object> state = new LinkedHashMap<>();
            state.put("ready", dependency.getValue().ready());
            state.put("detail", dependency.getValue().detail());
            dependencies.put(dependency.getKey().label(), state);
        }
        fields.put("dependencies", dependencies);
        try {
            return new ObjectMapper().writeValueAsBytes(fields);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("maps of strings and booleans always serialise", e);
        }
    }

    private record Response(int status, String contentType, byte[] body) {

        private static Response plainText(int status, String text) {
            return new Response(status, PLAIN_TEXT_CONTENT_TYPE, (text + "\n").getBytes(StandardCharsets.UTF_8));
        }
    }
}
