package org.lifeboat.agent.peer;

import java.util.Objects;

/**
 * A request the other agent refused or could not carry out. On the server a handler throws it and
 * {@link #code()} goes into the error reply; on the client it carries the code of that reply.
 */
public final class PeerRequestException extends Exception {

    private static final long serialVersionUID = 1L;

    private final String code;

    public PeerRequestException(String code, String message) {
        super(message);
        this.code = Objects.requireNonNull(code, "code");
    }

    /** A short name a caller may switch on, such as {@code "not-authenticated"} or {@code "malformed"}. */
    public String code() {
        return code;
    }
}
