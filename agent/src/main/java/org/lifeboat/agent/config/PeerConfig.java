package org.lifeboat.agent.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;
import java.util.Objects;
import org.lifeboat.agent.peer.PageCompression;

/** The {@code peer:} section: how agents on different nodes reach and trust each other. */
public final class PeerConfig {

    /** MUNGE-authenticated messages (the default); "none" only for a network the site trusts entirely. */
    public static final String MUNGE = "munge";
    public static final String NONE = "none";

    // Every interface: the peer port must be reachable from the other nodes, and every message on it is authenticated.
    private static final String DEFAULT_ADDRESS = "0.0.0.0";
    // Next to the metrics port 9464.
    private static final int DEFAULT_PORT = 9465;
    private static final String DEFAULT_MUNGE_SOCKET = "/run/munge/munge.socket.2";
    private static final int HIGHEST_PORT = 65535;

    private final String address;
    private final int port;
    private final String authentication;
    private final Path mungeSocket;
    private final PageCompression pageCompression;

    @JsonCreator
    public PeerConfig(@JsonProperty("address") String address, @JsonProperty("port") Integer port,
                      @JsonProperty("authentication") String authentication,
                      @JsonProperty("munge-socket") String mungeSocket,
                      @JsonProperty("page-compression") String pageCompression) {
        this.address = address == null ? DEFAULT_ADDRESS : address;
        if (this.address.isBlank()) {
            throw new InvalidConfigValueException("peer.address", "must not be empty");
        }
        this.port = port == null ? DEFAULT_PORT : port;
        if (this.port < 0 || this.port > HIGHEST_PORT) {
            throw new InvalidConfigValueException("peer.port", "must be between 0 and " + HIGHEST_PORT + ", got " + port);
        }
        this.authentication = authentication == null ? MUNGE : authentication;
        if (!this.authentication.equals(MUNGE) && !this.authentication.equals(NONE)) {
            throw new InvalidConfigValueException("peer.authentication", "must be 'munge' or 'none', got '" + authentication + "'");
        }
        this.mungeSocket = Path.of(mungeSocket == null ? DEFAULT_MUNGE_SOCKET : mungeSocket);
        if (!this.mungeSocket.isAbsolute()) {
            throw new InvalidConfigValueException("peer.munge-socket", "must be an absolute path, got '" + mungeSocket + "'");
        }
        // LZ4 by default: with half of the memory compressible it moves 1 GiB over 1 Gbit/s in 7.5 s
        // instead of 12.2 s, and on faster links, where the relay and CRIU are the limit, it
        // measured neither faster nor slower than none (bench/link-benchmark.sh).
        try {
            this.pageCompression = pageCompression == null ? PageCompression.LZ4 : PageCompression.fromWireName(pageCompression);
        } catch (IllegalArgumentException e) {
            throw new InvalidConfigValueException("peer.page-compression", "must be 'lz4' or 'none', got '" + pageCompression + "'");
        }
    }

    public static PeerConfig defaults() {
        return new PeerConfig(null, null, null, null, null);
    }

    public String address() {
        return address;
    }

    /** The port every node's agent listens on for other agents (the same on all nodes). */
    public int port() {
        return port;
    }

    public String authentication() {
        return authentication;
    }

    public Path mungeSocket() {
        return mungeSocket;
    }

    /** How memory pages are compressed on their way to the target's page server (diskless migrations). */
    public PageCompression pageCompression() {
        return pageCompression;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof PeerConfig that && address.equals(that.address) && port == that.port
                && authentication.equals(that.authentication) && mungeSocket.equals(that.mungeSocket)
                && pageCompression == that.pageCompression;
    }

    @Override
    public int hashCode() {
        return Objects.hash(address, port, authentication, mungeSocket, pageCompression);
    }

    @Override
    public String toString() {
        return "PeerConfig[address=" + address + ", port=" + port + ", authentication=" + authentication
                + ", mungeSocket=" + mungeSocket + ", pageCompression=" + pageCompression.wireName() + "]";
    }
}
