package org.lifeboat.agent.criu;

import java.util.Map;
import java.util.TreeMap;

/**
 * What the node's CRIU can do, probed once at agent start.
 *
 * @param version CRIU's version, e.g. "4.1.1"
 * @param checkPassed `criu check` found the basic features it needs (including TCP repair)
 * @param features optional features by Lifeboat's name for them: "memory-tracking" (iterative
 *     pre-copy), "lazy-pages" (post-copy), "tcp-half-closed", "nftables-network-lock"
 */
public record CriuCapabilities(String version, boolean checkPassed, Map<String, Boolean> features) {

    /** The feature that decides the {@link NetworkLock}. */
    public static final String NFTABLES_NETWORK_LOCK = "nftables-network-lock";

    public CriuCapabilities {
        features = Map.copyOf(new TreeMap<>(features));
    }

    public boolean has(String feature) {
        return features.getOrDefault(feature, false);
    }
}
