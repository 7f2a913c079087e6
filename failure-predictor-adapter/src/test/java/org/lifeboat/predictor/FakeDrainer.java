package org.lifeboat.predictor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Slurm's drain state as a map of node to reason; records every call. */
public final class FakeDrainer implements NodeDrainer {

    public final Map<String, String> drainReasons = new HashMap<>();
    public final List<String> calls = new ArrayList<>();
    public boolean failDrains;

    /** An administrator's drain, which Lifeboat must leave alone. */
    public synchronized void drainAsAdministrator(String node, String reason) {
        drainReasons.put(node, reason);
    }

    public synchronized boolean isDrained(String node) {
        return drainReasons.containsKey(node);
    }

    @Override
    public synchronized void drain(String node, String reason) throws NodeActionException {
        calls.add("drain " + node);
        if (failDrains) {
            throw new NodeActionException("scontrol update nodename=" + node + " state=drain exited 1");
        }
        drainReasons.put(node, reason);
    }

    @Override
    public synchronized void undrain(String node) {
        calls.add("undrain " + node);
        drainReasons.remove(node);
    }

    @Override
    public synchronized boolean drainedByOthers(String node) {
        String reason = drainReasons.get(node);
        return reason != null && !reason.startsWith(REASON_PREFIX);
    }
}
