package org.lifeboat.agent.cli;

import java.util.Objects;

/**
 * Why a command could not do its work: the exit code it ends with, a code scripts can test (the agent's
 * own, such as {@code not-permitted}, or one of {@link JsonOutput}'s), the message, and the line people read.
 */
final class CommandFailure extends Exception {

    private static final long serialVersionUID = 1L;

    private final int exitCode;
    private final String code;
    private final String forPeople;

    CommandFailure(int exitCode, String code, String message, String forPeople) {
        super(Objects.requireNonNull(message, "message"), null, false, false);
        this.exitCode = exitCode;
        this.code = Objects.requireNonNull(code, "code");
        this.forPeople = Objects.requireNonNull(forPeople, "forPeople");
    }

    int exitCode() {
        return exitCode;
    }

    String code() {
        return code;
    }

    /** The line for standard error, starting with the command's name. */
    String forPeople() {
        return forPeople;
    }
}
