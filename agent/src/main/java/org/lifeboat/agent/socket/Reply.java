package org.lifeboat.agent.socket;

/**
 * The agent's answer to one request line.
 *
 * @param line the JSON reply, without its newline
 * @param request the request type, or "invalid" when it could not be told (bounded: for metrics)
 * @param error the error code, or null when the request succeeded
 */
record Reply(String line, String request, ErrorCode error) {

    boolean succeeded() {
        return error == null;
    }
}
