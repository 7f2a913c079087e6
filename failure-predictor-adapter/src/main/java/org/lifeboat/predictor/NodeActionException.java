package org.lifeboat.predictor;

/** Draining, resuming or evacuating a node failed; the message says what was run and why it failed. */
public final class NodeActionException extends Exception {

    private static final long serialVersionUID = 1L;

    public NodeActionException(String message) {
        super(message);
    }

    public NodeActionException(String message, Throwable cause) {
        super(message, cause);
    }
}
