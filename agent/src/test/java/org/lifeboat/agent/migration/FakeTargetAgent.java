package org.lifeboat.agent.migration;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** A target agent that does what it is asked, records it, and fails the one request it is told to fail. */
final class FakeTargetAgent implements TargetAgent {

    private final List<String> requests = new ArrayList<>();
    private String failing = "";
    private PrepareRequest prepared;
    private boolean relayClosed;
    private String restoredFrom;
    private long imageBytes = 10_240;

    /** The request ("prepare", "pages", "images", "restore", "confirm", "resume", "pages-arrived", "commit", "abort") that fails. */
    FakeTargetAgent failing(String request) {
        this.failing = request;
        return this;
    }

    /** The size the image tar is said to have had. */
    FakeTargetAgent imageBytes(long bytes) {
        this.imageBytes = bytes;
        return this;
    }

    synchronized List<String> requests() {
        return List.copyOf(requests);
    }

    PrepareRequest prepared() {
        return prepared;
    }

    /** The tar digest the restore request sealed. */
    String restoredFrom() {
        return restoredFrom;
    }

    boolean relayClosed() {
        return relayClosed;
    }

    @Override
    public void prepare(PrepareRequest request) throws IOException {
        handle("prepare");
        prepared = request;
    }

    @Override
    public PageStream relayPages(int dumperUid) throws IOException {
        handle("pages");
        return new PageStream() {
            @Override
            public int port() {
                return 40_000;
            }

            @Override
            public long bytesToPeer() {
                return 1_048_576;
            }

            @Override
            public long wireBytesToPeer() {
                return 524_288;
            }

            @Override
            public boolean awaitFinished(Duration timeout) {
                return true;
            }

            @Override
            public void close() {
                relayClosed = true;
            }
        };
    }

    @Override
    public SentImages sendImages(Path images) throws IOException {
        handle("images");
        return new SentImages(imageBytes, "ab".repeat(32));
    }

    @Override
    public Restored restore(String imagesSha256) throws IOException {
        handle("restore");
        restoredFrom = imagesSha256;
        return new Restored(120, Optional.empty());
    }

    @Override
    public boolean confirm() throws IOException {
        // A target that cannot vouch for its copy answers "not ready" rather than failing the request.
        requests.add("confirm");
        return !failing.equals("confirm");
    }

    @Override
    public void resume() throws IOException {
        handle("resume");
    }

    @Override
    public PagesArrived pagesArrived() throws IOException {
        handle("pages-arrived");
        return new PagesArrived(true, null);
    }

    @Override
    public void commit() throws IOException {
        handle("commit");
    }

    @Override
    public void abort() throws IOException {
        handle("abort");
    }

    private synchronized void handle(String request) throws IOException {
        requests.add(request);
        if (failing.equals(request)) {
            throw new IOException("the target failed " + request);
        }
    }
}
