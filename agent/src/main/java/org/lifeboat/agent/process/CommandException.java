package org.lifeboat.agent.process;

/** An external command could not be run, ran out of time, or failed; the message quotes its output. */
public final class CommandException extends Exception {

    private static final long serialVersionUID = 1L;

    public CommandException(String message) {
        super(message);
    }

    public CommandException(String message, Throwable cause) {
        super(message, cause);
    }
}
