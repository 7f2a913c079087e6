package org.lifeboat.agent.socket;

/** The agent answered a request with an error reply. */
public final class AgentRefusedException extends Exception {

    private static final long serialVersionUID = 1L;

    private final String code;

    public AgentRefusedException(String code, String message) {
        super(message);
        this.code = code;
    }

    /** The protocol's error code, e.g. "not-permitted" (see {@link ErrorCode}). */
    public String code() {
        return code;
    }
}
