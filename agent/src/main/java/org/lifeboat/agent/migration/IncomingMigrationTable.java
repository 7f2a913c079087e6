package org.lifeboat.agent.migration;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The migrations to this node under way now, by id: shared by the requests of their sources, the
 * silence sweep and the orphan take-over, none of which reaches into another.
 */
public final class IncomingMigrationTable {

    private final Map<String, IncomingMigration> migrations = new ConcurrentHashMap<>();
    // Taken over here after their source was lost: that source, back, is told the job runs here.
    private final Set<String> takenOver = ConcurrentHashMap.newKeySet();

    /** @return false when a migration of that id is under way already */
    boolean add(IncomingMigration migration) {
        return migrations.putIfAbsent(migration.id, migration) == null;
    }

    Optional<IncomingMigration> get(String id) {
        return Optional.ofNullable(migrations.get(id));
    }

    Collection<IncomingMigration> all() {
        return List.copyOf(migrations.values());
    }

    void remove(IncomingMigration migration) {
        migrations.remove(migration.id, migration);
    }

    void tookOver(IncomingMigration migration) {
        takenOver.add(migration.id);
        remove(migration);
    }

    boolean wasTakenOver(String id) {
        return takenOver.contains(id);
    }

    /** Migrations to this node under way now: prepared, not yet committed or discarded. */
    public int inFlight() {
        return migrations.size();
    }
}
