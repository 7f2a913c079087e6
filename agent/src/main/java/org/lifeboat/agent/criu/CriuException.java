package org.lifeboat.agent.criu;

/** A CRIU run failed; the message quotes the error lines of its log. */
public final class CriuException extends Exception {

    private static final long serialVersionUID = 1L;

    public CriuException(String message) {
        super(message);
    }

    public CriuException(String message, Throwable cause) {
        super(message, cause);
    }
}
