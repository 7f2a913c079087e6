package org.lifeboat.predictor.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The {@code predictor.alertmanager:} section: how an alert's labels name a Slurm node, and where its
 * lead time and confidence are read.
 *
 * @param nodeLabels        labels tried in order; the first one present whose value matches {@code nodePattern} names the node
 * @param nodePattern       applied to that label's value; its first capture group is the node name
 *                          (the default keeps what comes before the first '.' or ':', so {@code node2.cluster:9100} gives {@code node2})
 * @param leadTimeKey       annotation (or label) holding the time left until the failure, e.g. {@code 5m}
 * @param confidenceKey     annotation (or label) holding the confidence, e.g. {@code 0.9}
 * @param defaultLeadTime   lead time of an alert without {@code leadTimeKey}
 * @param defaultConfidence confidence of an alert without {@code confidenceKey}
 */
public record AlertmanagerIntakeConfig(List<String> nodeLabels, String nodePattern, String leadTimeKey, String confidenceKey,
                                       Duration defaultLeadTime, double defaultConfidence) {

    static final List<String> DEFAULT_NODE_LABELS = List.of("node", "instance");
    static final String DEFAULT_NODE_PATTERN = "^([^.:]+)";
    static final String DEFAULT_LEAD_TIME_KEY = "lifeboat_lead_time";
    static final String DEFAULT_CONFIDENCE_KEY = "lifeboat_confidence";
    static final Duration DEFAULT_LEAD_TIME = Duration.ofMinutes(10);
    // A site routes an alert to Lifeboat because it means it: above the default threshold of 0.8.
    static final double DEFAULT_CONFIDENCE = 0.9;
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

    public AlertmanagerIntakeConfig {
        nodeLabels = List.copyOf(nodeLabels);
    }

    @JsonCreator
    public static AlertmanagerIntakeConfig fromFile(
            @JsonProperty("node-labels") List<String> nodeLabels,
            @JsonProperty("node-pattern") String nodePattern,
            @JsonProperty("lead-time-key") String leadTimeKey,
            @JsonProperty("confidence-key") String confidenceKey,
            @JsonProperty("default-lead-time") String defaultLeadTime,
            @JsonProperty("default-confidence") Double defaultConfidence) {
        return new AlertmanagerIntakeConfig(
                labels(nodeLabels == null ? DEFAULT_NODE_LABELS : nodeLabels),
                pattern(nodePattern == null ? DEFAULT_NODE_PATTERN : nodePattern),
                labelName("alertmanager.lead-time-key", leadTimeKey == null ? DEFAULT_LEAD_TIME_KEY : leadTimeKey),
                labelName("alertmanager.confidence-key", confidenceKey == null ? DEFAULT_CONFIDENCE_KEY : confidenceKey),
                ConfigValues.duration("alertmanager.default-lead-time", defaultLeadTime, DEFAULT_LEAD_TIME, Duration.ZERO),
                ConfigValues.confidence("alertmanager.default-confidence", defaultConfidence, DEFAULT_CONFIDENCE));
    }

    public static AlertmanagerIntakeConfig defaults() {
        return fromFile(null, null, null, null, null, null);
    }

    private static List<String> labels(List<String> labels) {
        if (labels.isEmpty()) {
            throw new InvalidPredictorConfigException("predictor.alertmanager.node-labels", "must name at least one label");
        }
        labels.forEach(label -> labelName("alertmanager.node-labels", label));
        return labels;
    }

    private static String labelName(String key, String name) {
        if (name == null || !LABEL_NAME.matcher(name).matches()) {
            throw new InvalidPredictorConfigException(ConfigValues.PREFIX + key, "must be a Prometheus label name, got '" + name + "'");
        }
        return name;
    }

    /** Checks the expression compiles and has a capture group; kept as text so that configurations compare equal. */
    private static String pattern(String text) {
        Pattern pattern;
        try {
            pattern = Pattern.compile(text);
        } catch (PatternSyntaxException e) {
            throw new InvalidPredictorConfigException("predictor.alertmanager.node-pattern",
                    "is not a regular expression: " + e.getDescription());
        }
        if (pattern.matcher("").groupCount() < 1) {
            throw new InvalidPredictorConfigException("predictor.alertmanager.node-pattern",
                    "needs a capture group for the node name, e.g. '^([^.:]+)'");
        }
        return text;
    }
}
