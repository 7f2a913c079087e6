package org.lifeboat.agent.network;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Objects;

/**
 * A job's own network: a named network namespace holding one interface with the job's address,
 * which a migration rebuilds on the target so the job keeps its address and connections.
 *
 * @param namespace the namespace's name under /run/netns
 * @param interfaceName the job's interface in it (eth0)
 * @param mac its MAC address, kept so neighbours need learn only a new port, not a new address
 * @param addresses its IPv4 addresses, as ADDRESS/PREFIX
 * @param gateway the default route's gateway, or null
 */
public record JobNetwork(
        @JsonProperty("namespace") String namespace,
        @JsonProperty("interface") String interfaceName,
        @JsonProperty("mac") String mac,
        @JsonProperty("addresses") List<String> addresses,
        @JsonProperty("gateway") String gateway) {

    public JobNetwork {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(interfaceName, "interfaceName");
        Objects.requireNonNull(mac, "mac");
        addresses = List.copyOf(addresses);
    }

    /** The same network in a namespace of another name. */
    public JobNetwork named(String otherNamespace) {
        return new JobNetwork(otherNamespace, interfaceName, mac, addresses, gateway);
    }
}
