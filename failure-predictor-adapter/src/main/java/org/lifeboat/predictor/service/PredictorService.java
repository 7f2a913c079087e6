package org.lifeboat.predictor.service;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.lifeboat.predictor.Evacuator;
import org.lifeboat.predictor.NodeDirectory;
import org.lifeboat.predictor.NodeDrainer;
import org.lifeboat.predictor.PredictionBook;
import org.lifeboat.predictor.PredictionOutcomes;
import org.lifeboat.predictor.config.PredictorConfig;
import org.lifeboat.predictor.detect.EdacDetector;
import org.lifeboat.predictor.detect.IpmiSelDetector;
import org.lifeboat.predictor.detect.ToolRunner;
import org.lifeboat.predictor.http.AcceptedNodes;
import org.lifeboat.predictor.http.BearerToken;
import org.lifeboat.predictor.http.PredictionHandlers;

/**
 * The adapter as the agent runs it: the prediction book, its HTTP handlers, the local detectors, and the
 * two threads that drive them. The agent builds one with its own implementations of the interfaces,
 * mounts {@link #handlers()} on its HTTP server, and starts and stops it with its other components
 * (the method names match the agent's LifeCycleComponent).
 */
public final class PredictorService {

    // Withdrawals are held down in whole seconds; checking every second is exact enough.
    static final Duration HOLD_DOWN_CHECK = Duration.ofSeconds(1);
    // Each check asks Slurm (scontrol) about each drained node under evacuation: seldom enough for the
    // controller, soon enough that a resumed node's new jobs are not taken for a stuck evacuation.
    static final Duration RESUME_CHECK = Duration.ofSeconds(5);
    // Queued drains and cancellations get this long to finish at stop before they are abandoned.
    private static final Duration ACTIONS_GRACE = Duration.ofSeconds(10);
    private static final Logger LOG = Logger.getLogger(PredictorService.class.getName());

    private final PredictorConfig config;
    private final PredictionBook book;
    private final PredictionHandlers handlers;
    private final EdacDetector edac;
    private final IpmiSelDetector ipmi;
    // One thread for all drains and evacuator calls, so they happen one at a time in decision order.
    private final ExecutorService actions = Executors.newSingleThreadExecutor(daemon("lifeboat-predictor-actions"));
    // Two, so that a slow BMC read never holds up the hold-down check or the EDAC poll.
    private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2, daemon("lifeboat-predictor"));

    /**
     * @param localNode the node this agent runs on: the local detectors predict its failure, and by default
     *                  the intakes accept predictions for it alone
     * @throws IOException when {@code predictor.token-file} cannot be created or read, or others may read it
     */
    public PredictorService(PredictorConfig config, String localNode, NodeDirectory nodes, NodeDrainer drainer,
                            Evacuator evacuator, PredictionOutcomes outcomes, ToolRunner tools, Clock clock) throws IOException {
        this.config = Objects.requireNonNull(config, "config");
        BearerToken token = BearerToken.readOrCreate(config.tokenFile());
        this.book = new PredictionBook(config.confidenceThreshold(), config.holdDown(), drainer, evacuator, outcomes, actions, clock);
        this.handlers = new PredictionHandlers(config, token, AcceptedNodes.from(config.acceptedNodes(), localNode), nodes,
                book, outcomes, clock);
        this.edac = new EdacDetector(config.edac(), localNode, book, clock);
        this.ipmi = new IpmiSelDetector(config.ipmi(), localNode, tools, book, clock);
    }

    public PredictionHandlers handlers() {
        return handlers;
    }

    public PredictionBook book() {
        return book;
    }

    public void start() {
        every(HOLD_DOWN_CHECK, "hold-down check", book::expireHoldDowns);
        every(RESUME_CHECK, "resumed-node check", book::endCasesBackInService);
        if (config.edac().enabled()) {
            every(config.edac().interval(), "EDAC poll", edac::poll);
        }
        if (config.ipmi().enabled()) {
            every(config.ipmi().interval(), "IPMI SEL poll", ipmi::poll);
        }
    }

    public void stop() {
        scheduler.shutdownNow();
        actions.shutdown();
        try {
            if (!actions.awaitTermination(ACTIONS_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warning("prediction actions still queued at stop were abandoned");
                actions.shutdownNow();
            }
        } catch (InterruptedException e) {
            actions.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    private void every(Duration period, String name, Runnable task) {
        // A periodic task that throws is never run again: catch, log, carry on.
        scheduler.scheduleWithFixedDelay(() -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                LOG.log(Level.SEVERE, name + " failed", e);
            }
        }, 0, period.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static ThreadFactory daemon(String name) {
        return runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        };
    }
}
