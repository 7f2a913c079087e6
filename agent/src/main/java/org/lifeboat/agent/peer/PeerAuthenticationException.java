package org.lifeboat.agent.peer;

/** A credential could not be made, or was refused; the message says why. */
public final class PeerAuthenticationException extends Exception {

    private static final long serialVersionUID = 1L;

    public PeerAuthenticationException(String message) {
        super(message);
    }

    public PeerAuthenticationException(String message, Throwable cause) {
        super(message, cause);
    }
}
