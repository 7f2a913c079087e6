package org.lifeboat.predictor;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Records evacuations; the test says whether a node's migrations have started. */
public final class FakeEvacuator implements Evacuator {

    public final List<Evacuation> evacuations = new ArrayList<>();
    public final List<String> advances = new ArrayList<>();
    public final List<String> cancellations = new ArrayList<>();
    public final Set<String> migrationsStarted = new HashSet<>();

    @Override
    public synchronized void evacuate(Evacuation evacuation) {
        evacuations.add(evacuation);
    }

    @Override
    public synchronized void deadlineAdvanced(String node, Instant deadline) {
        advances.add(node + " " + deadline);
    }

    @Override
    public synchronized Cancellation cancel(String node) {
        cancellations.add(node);
        return migrationsStarted.contains(node) ? Cancellation.AFTER_MIGRATIONS_STARTED : Cancellation.BEFORE_ANY_MIGRATION;
    }

    public synchronized int evacuationsOf(String node) {
        return (int) evacuations.stream().filter(evacuation -> evacuation.node().equals(node)).count();
    }
}
