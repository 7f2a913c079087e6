package org.lifeboat.predictor.http;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.lifeboat.predictor.config.PredictorConfig;

/**
 * The nodes a prediction posted to this agent may name ({@code predictor.accepted-nodes}). A prediction
 * drains its node in Slurm, and the agent can drain any node: by default it therefore speaks only for its
 * own node, so a predictor that reaches one agent cannot empty the cluster. A site whose predictor posts
 * every node's predictions to one agent names those nodes there, or {@code "*"} for every node.
 */
public final class AcceptedNodes {

    // Empty: every node.
    private final Set<String> nodes;

    private AcceptedNodes(Set<String> nodes) {
        this.nodes = Set.copyOf(nodes);
    }

    /**
     * @param configured {@code predictor.accepted-nodes} (already checked by the configuration); empty when unset
     * @param localNode  the node the agent runs on: the default
     */
    public static AcceptedNodes from(Optional<List<String>> configured, String localNode) {
        Objects.requireNonNull(localNode, "localNode");
        List<String> names = Objects.requireNonNull(configured, "configured").orElse(List.of(localNode));
        return new AcceptedNodes(names.contains(PredictorConfig.EVERY_NODE) ? Set.of() : new TreeSet<>(names));
    }

    boolean accepts(String node) {
        return nodes.isEmpty() || nodes.contains(node);
    }

    @Override
    public String toString() {
        return nodes.isEmpty() ? "every node" : String.join(", ", new TreeSet<>(nodes));
    }
}
