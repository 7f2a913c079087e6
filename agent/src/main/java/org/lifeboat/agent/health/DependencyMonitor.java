package org.lifeboat.agent.health;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.lifeboat.agent.lifecycle.LifeCycleComponent;
import org.lifeboat.agent.lifecycle.PeriodicTask;

/**
 * Checks every dependency once at start and then once per interval on a thread of its own, and
 * keeps the last round's report: /health and the gauges read that, so a scrape or a health check
 * never waits for scontrol or munged. Listed before the HTTP server, so the first answer it gives
 * is a real one. A dependency that stops being ready is logged once, and again when it recovers.
 */
public final class DependencyMonitor implements LifeCycleComponent {

    private static final Logger LOG = Logger.getLogger(DependencyMonitor.class.getName());
    private static final HealthReport NOT_CHECKED = HealthReport.all(DependencyState.notReady("not checked yet"));

    private final Map<Dependency, DependencyCheck> checks;
    private final PeriodicTask rounds;
    private volatile HealthReport report = NOT_CHECKED;

    /** @param checks one check for each {@link Dependency} */
    public DependencyMonitor(Map<Dependency, DependencyCheck> checks, Duration interval) {
        this.checks = new EnumMap<>(Objects.requireNonNull(checks, "checks"));
        for (Dependency dependency : Dependency.values()) {
            Objects.requireNonNull(this.checks.get(dependency), () -> "no check for " + dependency.label());
        }
        this.rounds = new PeriodicTask("lifeboat-dependency-check", interval, interval, this::checkAll);
    }

    @Override
    public void start() {
        checkAll();
        rounds.start();
    }

    @Override
    public void stop() {
        rounds.stop();
    }

    /** The last round's findings; every dependency "not checked yet" before the first. */
    public HealthReport report() {
        return report;
    }

    /** One round; package-private so tests can step it without a timer. */
    void checkAll() {
        HealthReport previous = report;
        Map<Dependency, DependencyState> states = new EnumMap<>(Dependency.class);
        for (Map.Entry<Dependency, DependencyCheck> entry : checks.entrySet()) {
            Dependency dependency = entry.getKey();
            DependencyState state = checkOne(dependency, entry.getValue());
            states.put(dependency, state);
            boolean wasReady = previous.state(dependency).ready();
            if (!state.ready() && (wasReady || previous == NOT_CHECKED)) {
                LOG.warning(dependency.label() + " is not ready: " + state.detail());
            } else if (state.ready() && !wasReady && previous != NOT_CHECKED) {
                LOG.info(dependency.label() + " is ready again: " + state.detail());
            }
        }
        report = new HealthReport(states);
    }

    private static DependencyState checkOne(Dependency dependency, DependencyCheck check) {
        try {
            return check.check();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "the check of " + dependency.label() + " failed", e);
            return DependencyState.notReady("its check failed: " + e);
        }
    }
}
