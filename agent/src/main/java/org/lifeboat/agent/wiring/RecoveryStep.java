package org.lifeboat.agent.wiring;

import java.io.IOException;
import java.util.Objects;
import java.util.logging.Logger;
import org.lifeboat.agent.lifecycle.LifeCycleComponent;

/**
 * One piece of crash recovery, run once at start. Listed before the servers, so it finishes before
 * any new request can find the state it repairs; a step that fails fails the agent's start.
 */
final class RecoveryStep implements LifeCycleComponent {

    private static final Logger LOG = Logger.getLogger(RecoveryStep.class.getName());

    /** What the step does; an IOException stops the agent from starting. */
    @FunctionalInterface
    interface Action {
        void run() throws IOException;
    }

    private final String name;
    private final Action action;

    /** @param name what the log calls the step, e.g. "registry reconciliation" */
    RecoveryStep(String name, Action action) {
        this.name = Objects.requireNonNull(name, "name");
        this.action = Objects.requireNonNull(action, "action");
    }

    @Override
    public void start() throws IOException {
        LOG.fine(() -> "recovery: " + name);
        action.run();
    }

    /** Recovery holds nothing once it has run. */
    @Override
    public void stop() {
    }

    @Override
    public String toString() {
        return name;
    }
}
