package org.lifeboat.agent.migration;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.lifeboat.agent.migration.IncomingMigration.Event;
import org.lifeboat.agent.peer.PeerRequestException;

/**
 * Discards the migrations whose source has fallen silent: a source that died, or lost this node,
 * after PREPARE, leaves a page server, images in the tmpfs and maybe a stopped restored copy
 * behind, which nothing else would ever remove. A migration this node has confirmed is kept: after
 * the confirmation the source may have requeued the job, and the copy here may be its only one
 * ({@link OrphanTakeOver} decides those). So is one whose source is still being served: a request
 * in hand (a long restore, a tar stream being read), or images still growing (CRIU's page server
 * taking pages).
 */
public final class SilenceSweep {

    private static final Logger LOG = Logger.getLogger(SilenceSweep.class.getName());

    private final IncomingMigrationTable table;
    private final IncomingCleanup cleanup;
    private final Clock clock;

    public SilenceSweep(IncomingMigrationTable table, IncomingCleanup cleanup, Clock clock) {
        this.table = Objects.requireNonNull(table, "table");
        this.cleanup = Objects.requireNonNull(cleanup, "cleanup");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** @return the ids of the migrations discarded because their source has said nothing for {@code silence} */
    public List<String> discardSilent(Duration silence) {
        Instant cutoff = clock.instant().minus(silence);
        List<String> discarded = new ArrayList<>();
        for (IncomingMigration migration : table.all()) {
            if (!migration.accepts(Event.SILENCE) || migration.requestsInHand.get() > 0) {
                continue;
            }
            // Pages arrive through CRIU's page server (or the source's CRIU writes the shared images)
            // with no request of ours in between: growing images count as hearing from the source.
            // A page server merely alive does not: after a cut link it waits for good.
            long imageBytes = bytesIn(migration.images);
            if (imageBytes != migration.imageBytesSeen) {
                migration.imageBytesSeen = imageBytes;
                migration.lastHeard = clock.instant();
            }
            if (!migration.lastHeard.isBefore(cutoff) || !migration.lock.tryLock()) {
                continue;
            }
            try {
                migration.transition(Event.SILENCE, () -> {
                    cleanup.discard(migration);
                    return null;
                });
                discarded.add(migration.id);
                LOG.warning("migration " + migration.id + ": its source has sent nothing since " + migration.lastHeard
                        + " (longer than " + silence.toMinutes() + " min): job " + migration.jobId
                        + " discarded here, the source has rolled back");
            } catch (PeerRequestException movedOn) {
                // A request of the source took it out of the sweep's reach meanwhile: the source is alive.
            } finally {
                migration.lock.unlock();
            }
        }
        return discarded;
    }

    private static long bytesIn(Path images) {
        try (Stream<Path> files = Files.walk(images)) {
            return files.filter(Files::isRegularFile).mapToLong(file -> file.toFile().length()).sum();
        } catch (IOException | UncheckedIOException e) {
            return -1;
        }
    }
}
