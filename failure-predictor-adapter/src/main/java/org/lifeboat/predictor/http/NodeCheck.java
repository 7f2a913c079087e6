package org.lifeboat.predictor.http;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import org.lifeboat.predictor.NodeDirectory;

/**
 * Checks each node named in one request: this agent must accept predictions for it, and Slurm must know
 * it (asked once per node). Either failing refuses the whole request.
 */
final class NodeCheck {

    private final AcceptedNodes accepted;
    private final NodeDirectory directory;
    private final Map<String, Boolean> known = new HashMap<>();

    NodeCheck(AcceptedNodes accepted, NodeDirectory directory) {
        this.accepted = Objects.requireNonNull(accepted, "accepted");
        this.directory = Objects.requireNonNull(directory, "directory");
    }

    /** @param where what named the node, for the message (e.g. "alert 3 (label instance=...)") */
    void requireAccepted(String node, String where) throws RejectedRequest {
        if (!accepted.accepts(node)) {
            throw new RejectedRequest(RejectedRequest.FORBIDDEN, "node '" + node + "' (" + where + "): this agent accepts"
                    + " predictions for " + accepted + " only (predictor.accepted-nodes); post it to that node's agent");
        }
        Boolean exists = known.get(node);
        if (exists == null) {
            try {
                exists = directory.exists(node);
            } catch (IOException e) {
                throw new RejectedRequest(RejectedRequest.UNAVAILABLE, "cannot ask Slurm about node '" + node + "': "
                        + e.getMessage() + "; try again");
            }
            known.put(node, exists);
        }
        if (!exists) {
            throw new RejectedRequest(RejectedRequest.UNPROCESSABLE, "unknown node '" + node + "' (" + where + "): Slurm has no such node");
        }
    }
}
