package org.lifeboat.agent.migration;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.lifeboat.agent.lifecycle.LifeCycleComponent;

/**
 * Once a minute, gives up the incoming migrations whose source has gone silent
 * ({@link IncomingMigrations#discardSilent}): a source node lost after PREPARE never says
 * "abort", and this node would otherwise keep its page server, images and tmpfs space for good.
 */
public final class SilentMigrationSweeper implements LifeCycleComponent {

    private static final Logger LOG = Logger.getLogger(SilentMigrationSweeper.class.getName());
    private static final Duration INTERVAL = Duration.ofMinutes(1);

    private final IncomingMigrations incoming;
    private final Duration silence;
    private ScheduledExecutorService executor;

    public SilentMigrationSweeper(IncomingMigrations incoming, Duration silence) {
        this.incoming = Objects.requireNonNull(incoming, "incoming");
        this.silence = Objects.requireNonNull(silence, "silence");
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
            incoming.discardSilent(silence);
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
