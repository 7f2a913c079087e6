package org.lifeboat.agent.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Duration;
import java.util.Objects;

/** The {@code http:} section: where the agent serves /health, /metrics and the prediction intake, and how. */
public final class HttpConfig {

    // Loopback by default: /health and /metrics are unauthenticated, so exposing them is a decision the site makes.
    private static final String DEFAULT_ADDRESS = "127.0.0.1";
    // 9464 lies in the port range Prometheus reserves for exporters.
    private static final int DEFAULT_PORT = 9464;
    private static final int HIGHEST_PORT = 65535;
    // Prometheus, Alertmanager and an operator's CLI at once, with room for a few stalled clients beside them.
    private static final int DEFAULT_THREADS = 8;
    // A 1 MiB body (predictor.max-body-bytes) crosses any management network in well under a second; a
    // client still sending after ten has stalled, and holds a thread until it is cut off.
    private static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(10);

    private final String address;
    private final int port;
    private final int threads;
    private final Duration requestTimeout;

    /** Null arguments take the defaults, so a missing key in the file and a missing argument mean the same. */
    @JsonCreator
    public HttpConfig(@JsonProperty("address") String address, @JsonProperty("port") Integer port,
                      @JsonProperty("threads") Integer threads,
                      @JsonProperty("request-timeout") String requestTimeout) {
        this.address = address == null ? DEFAULT_ADDRESS : requireNotBlank(address);
        this.port = port == null ? DEFAULT_PORT : requirePort(port);
        // Two at least, so that one slow scrape never holds up a health check.
        this.threads = threads == null ? DEFAULT_THREADS : (int) ConfigValues.requireAtLeast("http.threads", threads, 2);
        this.requestTimeout = requireWholeSeconds(DurationKeys.read("http.request-timeout", requestTimeout,
                DEFAULT_REQUEST_TIMEOUT, Duration.ofSeconds(1)), requestTimeout);
    }

    public static HttpConfig defaults() {
        return new HttpConfig(null, null, null, null);
    }

    public String address() {
        return address;
    }

    /** The port to listen on; 0 asks the operating system for a free one. */
    public int port() {
        return port;
    }

    /** How many requests are answered at once. */
    public int threads() {
        return threads;
    }

    /** How long a client may take to send a request's headers and body before its connection is closed; whole seconds. */
    public Duration requestTimeout() {
        return requestTimeout;
    }

    private static String requireNotBlank(String address) {
        if (address.isBlank()) {
            throw new InvalidConfigValueException("http.address", "must not be empty");
        }
        return address;
    }

    private static int requirePort(int port) {
        if (port < 0 || port > HIGHEST_PORT) {
            throw new InvalidConfigValueException("http.port", "must be between 0 and " + HIGHEST_PORT + ", got " + port);
        }
        return port;
    }

    // The JDK's HTTP server takes this limit in seconds (sun.net.httpserver.maxReqTime): 1500ms would silently be 1s.
    private static Duration requireWholeSeconds(Duration timeout, String text) {
        if (timeout.toMillis() % 1000 != 0) {
            throw new InvalidConfigValueException("http.request-timeout",
                    "must be a whole number of seconds such as 10s or 1m, got '" + text + "'");
        }
        return timeout;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof HttpConfig that
                && address.equals(that.address)
                && port == that.port
                && threads == that.threads
                && requestTimeout.equals(that.requestTimeout);
    }

    @Override
    public int hashCode() {
        return Objects.hash(address, port, threads, requestTimeout);
    }

    @Override
    public String toString() {
        return "HttpConfig[address=" + address + ", port=" + port + ", threads=" + threads
                + ", requestTimeout=" + requestTimeout + "]";
    }
}
