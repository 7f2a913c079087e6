package org.lifeboat.agent.migration;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.lifeboat.agent.criu.CriuRestoreStatistics;

/**
 * The target node's agent as the source sees one migration: the requests of the peer protocol, in
 * the order the phases make them. {@link PeerTargetAgent} sends them over the network; unit tests
 * of the driver put a fake here.
 */
interface TargetAgent {

    /** PREPARE_TARGET: room for the images, a page server when {@code request.pageServer()}. */
    void prepare(PrepareRequest request) throws Exception;

    /**
     * Opens the page stream to the target's page server: point CRIU's dump at 127.0.0.1 and its port,
     * which takes a connection of {@code dumperUid}'s alone (the uid CRIU dumps as).
     */
    PageStream relayPages(int dumperUid) throws Exception;

    /** SEND_IMAGES: the image files as one tar stream, which the target spools and confirms. */
    SentImages sendImages(Path images) throws Exception;

    /**
     * RESTORE: the target restores the job, left stopped, from the tar whose SHA-256 this names (sealed
     * with the request; null for shared-fs, whose images the target reads in place).
     */
    Restored restore(String imagesSha256) throws Exception;

    /** CONFIRM: whether the target vouches that its copy is whole and stopped. */
    boolean confirm() throws Exception;

    /** RESUME, past the point of no return: the target's copy runs. */
    void resume() throws Exception;

    /**
     * FETCH_PAGES (post-copy), once the source's CRIU has ended: whether the target's lazy-pages
     * daemon got every page; if not, its guard has killed the copy there.
     */
    PagesArrived pagesArrived() throws Exception;

    /** CLEANUP: the target may delete its images. */
    void commit() throws Exception;

    /** ROLLBACK: the target discards whatever it holds of this migration. */
    void abort() throws Exception;

    /** The tar the target confirmed having received: its length and SHA-256. */
    record SentImages(long bytes, String sha256) {}

    /** Whether every page of a post-copy migration reached the target's copy, and if not, why. */
    record PagesArrived(boolean complete, String failure) {}

    /** What the target reports of its restore: figures for the report. */
    record Restored(long criuMillis, Optional<CriuRestoreStatistics> statistics) {}

    /** The relay of CRIU's page-server traffic to the target. */
    interface PageStream extends AutoCloseable {
        int port();

        long bytesToPeer();

        long wireBytesToPeer();

        /** Whether both directions ended within the timeout. */
        boolean awaitFinished(Duration timeout) throws Exception;

        @Override
        void close();
    }
}
