package org.lifeboat.predictor.http;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import org.lifeboat.predictor.NodeDirectory;

/** Asks Slurm about each node named in one request once; an unknown node refuses the request. */
final class NodeCheck {

    private final NodeDirectory directory;
    private final Map<String, Boolean> known = new HashMap<>();

    NodeCheck(NodeDirectory directory) {
        this.directory = Objects.requireNonNull(directory, "directory");
    }

    /** @param where what named the node, for the message (e.g. "alert 3 (label instance=...)") */
    void requireKnown(String node, String where) throws RejectedRequest {
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
