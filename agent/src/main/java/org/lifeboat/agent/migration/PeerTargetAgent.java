package org.lifeboat.agent.migration;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import org.lifeboat.agent.peer.ImageArchive;
import org.lifeboat.agent.peer.PageRelay;
import org.lifeboat.agent.peer.PeerClient;

/** A target agent reached over the peer protocol (see {@code PeerServer}), one migration's requests. */
final class PeerTargetAgent implements TargetAgent {

    private final PeerClient peer;
    private final MigrationRequest migration;

    PeerTargetAgent(PeerClient peer, MigrationRequest migration) {
        this.peer = Objects.requireNonNull(peer, "peer");
        this.migration = Objects.requireNonNull(migration, "migration");
    }

    @Override
    public void prepare(PrepareRequest request) throws Exception {
        peer.call("prepare", PeerMessages.write(request));
    }

    @Override
    public PageStream relayPages(int dumperUid) throws Exception {
        PageRelay relay = peer.relay("pages", request(), dumperUid);
        return new PageStream() {
            @Override
            public int port() {
                return relay.port();
            }

            @Override
            public long bytesToPeer() {
                return relay.bytesToPeer();
            }

            @Override
            public long wireBytesToPeer() {
                return relay.wireBytesToPeer();
            }

            @Override
            public boolean awaitFinished(Duration timeout) throws Exception {
                return relay.awaitFinished(timeout);
            }

            @Override
            public void close() {
                relay.close();
            }
        };
    }

    @Override
    public SentImages sendImages(Path images) throws Exception {
        // PeerClient has checked the target received exactly these bytes: its reply's figures are the sent ones.
        ObjectNode reply = peer.send("images", request(), output -> ImageArchive.write(images, output));
        return new SentImages(reply.path("bytes").asLong(), reply.path("sha256").asText());
    }

    @Override
    public Restored restore(String imagesSha256) throws Exception {
        ObjectNode reply = peer.call("restore", PeerMessages.write(new RestoreRequest(migration.migration(), migration.job(),
                imagesSha256)));
        TargetReplies.Restored restored = PeerMessages.read("restore", PeerClient.handlerFields(reply), TargetReplies.Restored.class);
        return new Restored(restored.criuMillis(), Optional.ofNullable(restored.criuStats()));
    }

    @Override
    public boolean confirm() throws Exception {
        ObjectNode reply = peer.call("confirm", request());
        return PeerMessages.read("confirm", PeerClient.handlerFields(reply), TargetReplies.Confirmed.class).ready();
    }

    @Override
    public void resume() throws Exception {
        peer.call("resume", request());
    }

    @Override
    public PagesArrived pagesArrived() throws Exception {
        ObjectNode reply = peer.call("pages-arrived", request());
        TargetReplies.PagesArrived arrived = PeerMessages.read("pages-arrived", PeerClient.handlerFields(reply),
                TargetReplies.PagesArrived.class);
        return new PagesArrived(arrived.complete(), arrived.failure());
    }

    @Override
    public void commit() throws Exception {
        peer.call("commit", request());
    }

    @Override
    public void abort() throws Exception {
        peer.call("abort", request());
    }

    private ObjectNode request() {
        return PeerMessages.write(migration);
    }
}
