package org.lifeboat.agent.migration;

import java.time.Duration;
import java.util.Objects;
import org.lifeboat.agent.lifecycle.LifeCycleComponent;
import org.lifeboat.agent.lifecycle.PeriodicTask;

/**
 * Deals with the incoming migrations whose source has gone silent. Every two seconds, a copy
 * restored here whose job Slurm requeued after losing the source node is started here
 * ({@link OrphanTakeOver}). Once a minute, any other migration silent past the
 * limit is given up ({@link SilenceSweep}): a source node lost after PREPARE
 * never says "abort", and this node would otherwise keep its page server, images and tmpfs space
 * for good. That sweep reads the sizes of the images, on a shared file system too: not more often.
 */
public final class SilentMigrationSweeper implements LifeCycleComponent {

    // Slurm has requeued a lost node's jobs (SlurmdTimeout) long before; two seconds more is what it costs them.
    private static final Duration INTERVAL = Duration.ofSeconds(2);
    private static final int SWEEPS_PER_DISCARD = 30;

    private final OrphanTakeOver takeOver;
    private final SilenceSweep silence;
    private final String nodeName;
    // A failed sweep does not end the schedule (PeriodicTask logs it): the next one tries again.
    private final PeriodicTask sweeper = new PeriodicTask("silent-migration-sweeper", INTERVAL, INTERVAL, this::sweep);
    private int sweeps;

    public SilentMigrationSweeper(OrphanTakeOver takeOver, SilenceSweep silence, String nodeName) {
        this.takeOver = Objects.requireNonNull(takeOver, "takeOver");
        this.silence = Objects.requireNonNull(silence, "silence");
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
    }

    @Override
    public void start() {
        sweeper.start();
    }

    private void sweep() {
        takeOver.takeOverOrphans(IncomingMigrations.SOURCE_SILENCE, nodeName);
        if (++sweeps % SWEEPS_PER_DISCARD == 0) {
            silence.discardSilent(IncomingMigrations.SILENCE_LIMIT);
        }
    }

    @Override
    public void stop() {
        sweeper.stop();
    }
}
