package org.lifeboat.predictor;

import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** Records evacuations; the test says whether a node's migrations have started. Safe to read while actions run. */
public final class FakeEvacuator implements Evacuator {

    public final List<Evacuation> evacuations = new CopyOnWriteArrayList<>();
    public final List<String> advances = new CopyOnWriteArrayList<>();
    public final List<String> cancellations = new CopyOnWriteArrayList<>();
    public final Set<String> migrationsStarted = ConcurrentHashMap.newKeySet();

    @Override
    public void evacuate(Evacuation evacuation) {
        evacuations.add(evacuation);
    }

    @Override
    public void deadlineAdvanced(String node, Instant deadline) {
        advances.add(node + " " + deadline);
    }

    @Override
    public Cancellation cancel(String node) {
        cancellations.add(node);
        return migrationsStarted.contains(node) ? Cancellation.AFTER_MIGRATIONS_STARTED : Cancellation.BEFORE_ANY_MIGRATION;
    }

    public int evacuationsOf(String node) {
        return (int) evacuations.stream().filter(evacuation -> evacuation.node().equals(node)).count();
    }
}
