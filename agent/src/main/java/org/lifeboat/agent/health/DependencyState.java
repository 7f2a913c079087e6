package org.lifeboat.agent.health;

import java.util.Objects;

/**
 * What one check of a dependency found.
 *
 * @param ready whether the agent can rely on it now
 * @param detail one line for an administrator: what was found, or what is wrong
 */
public record DependencyState(boolean ready, String detail) {

    public DependencyState {
        Objects.requireNonNull(detail, "detail");
    }

    public static DependencyState ready(String detail) {
        return new DependencyState(true, detail);
    }

    public static DependencyState notReady(String detail) {
        return new DependencyState(false, detail);
    }
}
