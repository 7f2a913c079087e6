package org.lifeboat.predictor.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.lifeboat.predictor.NodeNames;

/**
 * The {@code predictor:} section of the agent's configuration. Every key is optional; a missing key
 * and a null argument both mean the default. Bound by Jackson through {@link #fromFile}; the agent's
 * loader rejects unknown keys.
 *
 * @param confidenceThreshold predictions below it are recorded only; at or above it the node is drained and evacuated
 * @param holdDown            how long a node stays under evacuation after its last prediction is withdrawn; a
 *                            prediction returning within it (flapping) joins the running evacuation
 * @param maxBodyBytes        largest request body the HTTP intakes read; larger ones get 413
 * @param tokenFile           the HTTP intakes demand {@code Authorization: Bearer <the file's content>}; the agent
 *                            creates the file (mode 0600) with a random token when it does not exist
 * @param acceptedNodes       the nodes predictions posted to this agent may name ({@code "*"}: every node);
 *                            empty when unset, which means the agent's own node only
 */
public record PredictorConfig(double confidenceThreshold, Duration holdDown, int maxBodyBytes, Path tokenFile,
                              Optional<List<String>> acceptedNodes, AlertmanagerIntakeConfig alertmanager,
                              EdacDetectorConfig edac, IpmiDetectorConfig ipmi, PlanningConfig planning) {

    /** The {@code accepted-nodes} entry that stands for every node Slurm knows. */
    public static final String EVERY_NODE = "*";

    static final double DEFAULT_CONFIDENCE_THRESHOLD = 0.8;
    // Longer than a flapping alert's resolve-and-fire (Prometheus evaluates every 15-60 s), short enough
    // that a withdrawn prediction gives the node back within minutes.
    static final Duration DEFAULT_HOLD_DOWN = Duration.ofMinutes(2);
    // Alertmanager's largest groups are tens of KiB; 1 MiB leaves room and bounds memory per request.
    static final int DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
    private static final int LARGEST_BODY_LIMIT = 64 * 1024 * 1024;
    // Beside agent.yaml, in a directory only root may write to.
    static final String DEFAULT_TOKEN_FILE = "/etc/lifeboat/prediction-token";

    public PredictorConfig {
        if (!(confidenceThreshold >= 0 && confidenceThreshold <= 1)) {
            throw new InvalidPredictorConfigException("predictor.confidence-threshold", "must be between 0 and 1, got " + confidenceThreshold);
        }
        Objects.requireNonNull(holdDown, "holdDown");
        if (holdDown.isNegative()) {
            throw new InvalidPredictorConfigException("predictor.hold-down", "must not be negative");
        }
        if (maxBodyBytes < 1024 || maxBodyBytes > LARGEST_BODY_LIMIT) {
            throw new InvalidPredictorConfigException("predictor.max-body-bytes",
                    "must be between 1024 and " + LARGEST_BODY_LIMIT + ", got " + maxBodyBytes);
        }
        Objects.requireNonNull(tokenFile, "tokenFile");
        acceptedNodes = Objects.requireNonNull(acceptedNodes, "acceptedNodes").map(PredictorConfig::requireNodeNames);
        Objects.requireNonNull(alertmanager, "alertmanager");
        Objects.requireNonNull(edac, "edac");
        Objects.requireNonNull(ipmi, "ipmi");
        Objects.requireNonNull(planning, "planning");
    }

    @JsonCreator
    public static PredictorConfig fromFile(
            @JsonProperty("confidence-threshold") Double confidenceThreshold,
            @JsonProperty("hold-down") String holdDown,
            @JsonProperty("max-body-bytes") Integer maxBodyBytes,
            @JsonProperty("token-file") String tokenFile,
            @JsonProperty("accepted-nodes") List<String> acceptedNodes,
            @JsonProperty("alertmanager") AlertmanagerIntakeConfig alertmanager,
            @JsonProperty("edac") EdacDetectorConfig edac,
            @JsonProperty("ipmi") IpmiDetectorConfig ipmi,
            @JsonProperty("planning") PlanningConfig planning) {
        return new PredictorConfig(
                ConfigValues.confidence("confidence-threshold", confidenceThreshold, DEFAULT_CONFIDENCE_THRESHOLD),
                ConfigValues.duration("hold-down", holdDown, DEFAULT_HOLD_DOWN, Duration.ZERO),
                maxBodyBytes == null ? DEFAULT_MAX_BODY_BYTES : maxBodyBytes,
                ConfigValues.absolutePath("token-file", tokenFile, DEFAULT_TOKEN_FILE),
                Optional.ofNullable(acceptedNodes),
                alertmanager == null ? AlertmanagerIntakeConfig.defaults() : alertmanager,
                edac == null ? EdacDetectorConfig.defaults() : edac,
                ipmi == null ? IpmiDetectorConfig.defaults() : ipmi,
                planning == null ? PlanningConfig.defaults() : planning);
    }

    public static PredictorConfig defaults() {
        return fromFile(null, null, null, null, null, null, null, null, null);
    }

    private static List<String> requireNodeNames(List<String> nodes) {
        if (nodes.isEmpty()) {
            throw new InvalidPredictorConfigException("predictor.accepted-nodes", "must name at least one node, or \"*\"");
        }
        for (String node : nodes) {
            if (!NodeNames.isValid(node) && !EVERY_NODE.equals(node)) {
                throw new InvalidPredictorConfigException("predictor.accepted-nodes", "must hold node names or \"*\", got '" + node + "'");
            }
        }
        return List.copyOf(nodes);
    }
}
