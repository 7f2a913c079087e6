package org.lifeboat.predictor.http;

import com.sun.net.httpserver.HttpHandler;
import java.time.Clock;
import java.util.Objects;
import java.util.Optional;
import org.lifeboat.predictor.NodeDirectory;
import org.lifeboat.predictor.PredictionBook;
import org.lifeboat.predictor.PredictionOutcomes;
import org.lifeboat.predictor.PredictionSource;
import org.lifeboat.predictor.config.PredictorConfig;

/**
 * The two HTTP intakes, as plain JDK handlers for the agent's HTTP server to mount (at
 * {@code /api/v1/alertmanager} and {@code /api/v1/predictions}).
 */
public final class PredictionHandlers {

    private final HttpHandler alertmanager;
    private final HttpHandler predictions;

    /**
     * @param token    what every request must carry in {@code Authorization: Bearer}
     * @param accepted the nodes a request may name
     */
    public PredictionHandlers(PredictorConfig config, BearerToken token, AcceptedNodes accepted, NodeDirectory nodes,
                              PredictionBook book, PredictionOutcomes outcomes, Clock clock) {
        Objects.requireNonNull(config, "config");
        this.alertmanager = new JsonEndpoint("alertmanager webhook", PredictionSource.ALERTMANAGER.label(),
                config.maxBodyBytes(), token, new AlertmanagerWebhook(config.alertmanager(), accepted, nodes, book, clock),
                Optional.empty(), outcomes);
        PredictionRequests requests = new PredictionRequests(accepted, nodes, book, clock);
        this.predictions = new JsonEndpoint("prediction endpoint", PredictionSource.HTTP.label(), config.maxBodyBytes(), token,
                requests, Optional.of(requests), outcomes);
    }

    /** POST: an Alertmanager webhook notification (version 4). */
    public HttpHandler alertmanager() {
        return alertmanager;
    }

    /** POST: one prediction or cancellation ({@code lifeboat predict}); GET: the book. */
    public HttpHandler predictions() {
        return predictions;
    }
}
