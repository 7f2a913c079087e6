package org.lifeboat.agent.health;

/** Looks at one dependency now. Runs on the monitor's thread, never on an HTTP request's. */
@FunctionalInterface
public interface DependencyCheck {

    /** The dependency's state; its failure is a not-ready state with the reason, not an exception. */
    DependencyState check();

    /** A dependency this configuration does not use (MUNGE with peer.authentication none): always ready. */
    static DependencyCheck notUsed(String because) {
        DependencyState state = DependencyState.ready("not used: " + because);
        return () -> state;
    }
}
