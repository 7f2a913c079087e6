package org.lifeboat.predictor;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/** Where a prediction came from; its label is what metrics, logs and the HTTP API show. */
public enum PredictionSource {
    /** A Prometheus Alertmanager webhook. */
    ALERTMANAGER,
    /** The generic JSON endpoint, used by any other predictor. */
    HTTP,
    /** {@code lifeboat predict}, i.e. an operator. */
    CLI,
    /** The built-in detector of EDAC correctable memory errors. */
    EDAC,
    /** The built-in reader of the BMC's System Event Log. */
    IPMI;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<PredictionSource> fromLabel(String label) {
        return Arrays.stream(values()).filter(source -> source.label().equals(label)).findFirst();
    }
}
