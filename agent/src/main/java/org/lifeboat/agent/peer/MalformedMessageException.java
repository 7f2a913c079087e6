package org.lifeboat.agent.peer;

import java.io.IOException;

/**
 * A message that breaks the framing: a line too long, not JSON, a field missing, the connection
 * ending inside a message. An IOException, because to a caller it is the connection that failed.
 */
final class MalformedMessageException extends IOException {

    private static final long serialVersionUID = 1L;

    MalformedMessageException(String message) {
        super(message);
    }
}
