package org.lifeboat.agent.peer;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;

/**
 * What an agent does with authenticated requests from other agents. Each method gets the request's
 * name and its own fields (the envelope's version, request and kind removed) and is called from up
 * to {@link PeerServer#HANDLER_THREADS} threads at once. Throwing {@link PeerRequestException}
 * sends its code and message back as an error reply; an unknown request name should be refused
 * that way too.
 */
public interface PeerRequestHandler {

    /** A control request; the fields of the returned object go into the ok reply. */
    ObjectNode call(String request, ObjectNode message) throws PeerRequestException;

    /**
     * A bulk upload: consume {@code body} to its end. The ok reply carries the returned fields plus
     * the SHA-256 and length of every body byte received, which the sender compares with what it
     * sent; so nothing received here may be used until the sender has confirmed (by a later request)
     * that it arrived intact.
     */
    ObjectNode receive(String request, ObjectNode message, InputStream body) throws PeerRequestException, IOException;

    /**
     * A duplex relay: returns a connected local channel, which the server then owns; it pumps bytes
     * between that channel and the peer's connection until both sides have closed. The handler
     * connects it itself, so it alone answers for who is at its far end. The channel may come later
     * than the ok reply, which the peer needs before it can make what the channel will be connected
     * to (a post-copy dump's connection comes before the target's lazy-pages daemon exists): what
     * the peer sends meanwhile waits in the connection, and a future that fails ends the relay.
     */
    CompletableFuture<SocketChannel> pipe(String request, ObjectNode message) throws PeerRequestException;
}
