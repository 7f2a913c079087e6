package org.lifeboat.agent.socket;

/** A request the agent will not carry out; {@link #code()} goes into the error reply. */
final class ProtocolException extends Exception {

    private static final long serialVersionUID = 1L;

    private final ErrorCode code;

    ProtocolException(ErrorCode code, String message) {
        super(message);
        this.code = code;
    }

    ErrorCode code() {
        return code;
    }
}
