package org.lifeboat.predictor;

import java.util.regex.Pattern;

/** The alphabet Slurm node names are checked against before they reach Slurm, a log line or a metric. */
public final class NodeNames {

    // The same safe alphabet as the agent's node-name; Slurm allows more, no site needs it.
    private static final Pattern NODE_NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    private NodeNames() {}

    public static boolean isValid(String node) {
        return node != null && NODE_NAME.matcher(node).matches();
    }

    static String require(String node) {
        if (!isValid(node)) {
            throw new IllegalArgumentException("not a node name: '" + node + "'");
        }
        return node;
    }
}
