package org.lifeboat.predictor;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** Slurm's drain state as a map of node to reason; records every call. Safe to read while actions run. */
public final class FakeDrainer implements NodeDrainer {

    public final Map<String, String> drainReasons = new ConcurrentHashMap<>();
    public final List<String> calls = new CopyOnWriteArrayList<>();
    public volatile boolean failDrains;

    /** An administrator's drain, which Lifeboat must leave alone. */
    public void drainAsAdministrator(String node, String reason) {
        drainReasons.put(node, reason);
    }

    public boolean isDrained(String node) {
        return drainReasons.containsKey(node);
    }

    @Override
    public void drain(String node, String reason) throws NodeActionException {
        calls.add("drain " + node);
        if (failDrains) {
            throw new NodeActionException("scontrol update nodename=" + node + " state=drain exited 1");
        }
        drainReasons.put(node, reason);
    }

    @Override
    public void undrain(String node) {
        calls.add("undrain " + node);
        drainReasons.remove(node);
    }

    @Override
    public boolean drainedByOthers(String node) {
        String reason = drainReasons.get(node);
        return reason != null && !reason.startsWith(REASON_PREFIX);
    }

    /** Not recorded in {@link #calls}: a question, not an action. */
    @Override
    public boolean inService(String node) {
        return !isDrained(node);
    }

    /** An administrator's scontrol update state=resume. */
    public void resumeAsAdministrator(String node) {
        drainReasons.remove(node);
    }
}
