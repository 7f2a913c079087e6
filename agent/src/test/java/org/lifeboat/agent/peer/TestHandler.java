package org.lifeboat.agent.peer;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link PeerRequestHandler} whose answers each test sets, recording every request it was given.
 * Unset kinds refuse with "unknown-request", as a real handler refuses names it does not know.
 */
final class TestHandler implements PeerRequestHandler {

    @FunctionalInterface
    interface Call {
        ObjectNode call(String request, ObjectNode message) throws PeerRequestException;
    }

    @FunctionalInterface
    interface Receive {
        ObjectNode receive(String request, ObjectNode message, InputStream body) throws PeerRequestException, IOException;
    }

    @FunctionalInterface
    interface Pipe {
        SocketChannel pipe(String request, ObjectNode message) throws PeerRequestException;
    }

    private final List<String> requests = new ArrayList<>();
    private final List<ObjectNode> messages = new ArrayList<>();
    private volatile Call onCall = (request, message) -> {
        throw new PeerRequestException("unknown-request", "no calls here");
    };
    private volatile Receive onReceive = (request, message, body) -> {
        throw new PeerRequestException("unknown-request", "no uploads here");
    };
    private volatile Pipe onPipe = (request, message) -> {
        throw new PeerRequestException("unknown-request", "no relays here");
    };

    TestHandler onCall(Call call) {
        onCall = call;
        return this;
    }

    TestHandler onReceive(Receive receive) {
        onReceive = receive;
        return this;
    }

    TestHandler onPipe(Pipe pipe) {
        onPipe = pipe;
        return this;
    }

    synchronized List<String> requests() {
        return List.copyOf(requests);
    }

    synchronized List<ObjectNode> messages() {
        return List.copyOf(messages);
    }

    @Override
    public ObjectNode call(String request, ObjectNode message) throws PeerRequestException {
        record(request, message);
        return onCall.call(request, message);
    }

    @Override
    public ObjectNode receive(String request, ObjectNode message, InputStream body) throws PeerRequestException, IOException {
        record(request, message);
        return onReceive.receive(request, message, body);
    }

    @Override
    public CompletableFuture<SocketChannel> pipe(String request, ObjectNode message) throws PeerRequestException {
        record(request, message);
        return CompletableFuture.completedFuture(onPipe.pipe(request, message));
    }

    private synchronized void record(String request, ObjectNode message) {
        requests.add(request);
        messages.add(message);
    }
}
