package org.lifeboat.predictor.http;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.lifeboat.predictor.NodeNames;
import org.lifeboat.predictor.config.AlertmanagerIntakeConfig;

/**
 * Finds the Slurm node an alert is about: the first of the configured labels that is present and whose
 * value matches the pattern gives the node name, the pattern's first capture group. With the defaults,
 * {@code node="node2"} gives node2, and {@code instance="node2.cluster.example:9100"} gives node2.
 */
public final class NodeLabelRule {

    private final List<String> labels;
    private final Pattern pattern;

    public NodeLabelRule(List<String> labels, Pattern pattern) {
        this.labels = List.copyOf(labels);
        this.pattern = Objects.requireNonNull(pattern, "pattern");
        if (this.labels.isEmpty()) {
            throw new IllegalArgumentException("at least one label is needed");
        }
    }

    public static NodeLabelRule from(AlertmanagerIntakeConfig config) {
        return new NodeLabelRule(config.nodeLabels(), Pattern.compile(config.nodePattern()));
    }

    /** The node and the label it came from, or a message saying why none could be found. */
    public Match nodeFor(Map<String, String> alertLabels) {
        StringBuilder tried = new StringBuilder();
        for (String label : labels) {
            String value = alertLabels.get(label);
            if (value == null) {
                continue;
            }
            Matcher matcher = pattern.matcher(value);
            String node = matcher.find() ? matcher.group(1) : null;
            if (node != null && NodeNames.isValid(node)) {
                return new Match(node, label + "=\"" + value + "\"", null);
            }
            tried.append(tried.isEmpty() ? "" : ", ").append(label).append("=\"").append(AlertmanagerWebhook.abbreviate(value)).append('"');
        }
        String problem = tried.isEmpty()
                ? "none of the labels " + labels + " is present"
                : "no node name in " + tried + " (pattern " + pattern + " must capture a name of letters, digits, '.', '_', '-')";
        return new Match(null, null, problem);
    }

    /** Either a node (with the label it came from, for messages) or the problem. */
    public record Match(String node, String from, String problem) {

        public boolean found() {
            return node != null;
        }
    }
}
