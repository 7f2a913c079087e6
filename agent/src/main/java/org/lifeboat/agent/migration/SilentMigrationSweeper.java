package org.lifeboat.agent.migration;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.lifeboat.agent.lifecycle.LifeCycleComponent;

/**
 * Deals with the incoming migrations whose source has gone silent. Every two seconds, a copy
 * restored here whose job Slurm requeued after losing the source node is started here
 * ({@link OrphanTakeOver}). Once a minute, any other migration silent past the
 * limit is given up ({@link SilenceSweep}): a source node lost after PREPARE
 * never says "abort", and this node would otherwise keep its page server, images and tmpfs space
 * for good. That sweep reads the sizes of the images, on a shared file system too: not more often.
 */
public final class SilentMigrationSweeper implements LifeCycleComponent {

    private static final Logger LOG = Logger.getLogger(SilentMigrationSweeper.class.getName());
    // Slurm has requeued a lost node's jobs (SlurmdTimeout) long before; two seconds more is what it costs them.
    private static final Duration INTERVAL = Duration.ofSeconds(2);
    private static final int SWEEPS_PER_DISCARD = 30;

    private final OrphanTakeOver takeOver;
    private final SilenceSweep silence;
    private final String nodeName;
    private ScheduledExecutorService executor;
    private int sweeps;

    public SilentMigrationSweeper(OrphanTakeOver takeOver, SilenceSweep silence, String nodeName) {
        this.takeOver = Objects.requireNonNull(takeOver, "takeOver");
        this.silence = Objects.requireNonNull(silence, "silence");
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
    }

    @Override
    public void start() {
        executor = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "silent-migration-sweeper");
            thread.setDaemon(true);
            return thread;
        });
        executor.scheduleWithFixedDelay(this::sweep, INTERVAL.toMillis(), INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void sweep() {
        try {
            takeOver.takeOverOrphans(IncomingMigrations.SOURCE_SILENCE, nodeName);
            if (++sweeps % SWEEPS_PER_DISCARD == 0) {
                silence.discardSilent(IncomingMigrations.SILENCE_LIMIT);
            }
        } catch (RuntimeException e) {
            // A failed sweep must not end the schedule: the next one tries again.
            LOG.warning("sweeping silent migrations failed: " + e);
        }
    }

    @Override
    public void stop() {
        if (executor != null) {
            executor.shutdownNow();
        }
    }
}
