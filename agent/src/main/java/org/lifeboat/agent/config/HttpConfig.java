package org.lifeboat.agent.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Objects;

/** The {@code http:} section: where the agent serves /health and /metrics. */
public final class HttpConfig {

    // Loopback by default: the endpoint is unauthenticated, so exposing it is a decision the site makes.
    private static final String DEFAULT_ADDRESS = "127.0.0.1";
    // 9464 lies in the port range Prometheus reserves for exporters.
    private static final int DEFAULT_PORT = 9464;
    private static final int HIGHEST_PORT = 65535;

    private final String address;
    private final int port;

    /** Null arguments take the defaults, so a missing key in the file and a missing argument mean the same. */
    @JsonCreator
    public HttpConfig(@JsonProperty("address") String address, @JsonProperty("port") Integer port) {
        this.address = address == null ? DEFAULT_ADDRESS : requireNotBlank(address);
        this.port = port == null ? DEFAULT_PORT : requirePort(port);
    }

    public static HttpConfig defaults() {
        return new HttpConfig(null, null);
    }

    public String address() {
        return address;
    }

    /** The port to listen on; 0 asks the operating system for a free one. */
    public int port() {
        return port;
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

    @Override
    public boolean equals(Object other) {
        return other instanceof HttpConfig
                && address.equals(((HttpConfig) other).address)
                && port == ((HttpConfig) other).port;
    }

    @Override
    public int hashCode() {
        return Objects.hash(address, port);
    }

    @Override
    public String toString() {
        return "HttpConfig[address=" + address + ", port=" + port + "]";
    }
}
