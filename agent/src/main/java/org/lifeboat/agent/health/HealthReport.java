package org.lifeboat.agent.health;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The last round of dependency checks: every dependency's state, in {@link Dependency}'s order
 * (the order /health lists them in).
 * The agent is ready when every dependency is.
 */
public record HealthReport(Map<Dependency, DependencyState> dependencies) {

    public HealthReport {
        Objects.requireNonNull(dependencies, "dependencies");
        for (Dependency dependency : Dependency.values()) {
            if (!dependencies.containsKey(dependency)) {
                throw new IllegalArgumentException("no state for " + dependency.label());
            }
        }
        dependencies = Collections.unmodifiableMap(new EnumMap<>(dependencies));
    }

    /** Every dependency in the same state: the report before the first check, or one for tests. */
    public static HealthReport all(DependencyState state) {
        Map<Dependency, DependencyState> states = new EnumMap<>(Dependency.class);
        for (Dependency dependency : Dependency.values()) {
            states.put(dependency, state);
        }
        return new HealthReport(states);
    }

    /** This report with one dependency's state replaced. */
    public HealthReport with(Dependency dependency, DependencyState state) {
        Map<Dependency, DependencyState> states = new EnumMap<>(dependencies);
        states.put(dependency, state);
        return new HealthReport(states);
    }

    public DependencyState state(Dependency dependency) {
        return dependencies.get(dependency);
    }

    public boolean ready() {
        return dependencies.values().stream().allMatch(DependencyState::ready);
    }

    /** Each dependency that is not ready, with its detail ("slurm: ...; munge: ..."); empty when all are. */
    public Optional<String> reason() {
        String reason = dependencies.entrySet().stream()
                .filter(entry -> !entry.getValue().ready())
                .map(entry -> entry.getKey().label() + ": " + entry.getValue().detail())
                .collect(Collectors.joining("; "));
        return reason.isEmpty() ? Optional.empty() : Optional.of(reason);
    }
}
