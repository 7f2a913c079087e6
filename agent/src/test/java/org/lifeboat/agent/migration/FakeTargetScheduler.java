package org.lifeboat.agent.migration;

import java.util.ArrayList;
import java.util.List;
import org.lifeboat.agent.slurm.SlurmJob;

/** Slurm as a test sets it: every job in one state, on one node, with one restart count; records what it is asked to do. */
final class FakeTargetScheduler implements TargetScheduler {

    private volatile SlurmJob job = job("RUNNING", "node1", 0);
    private final List<String> calls = new ArrayList<>();

    static SlurmJob job(String state, String node, int restarts) {
        return new SlurmJob(7, state, "batch", node, 1, 1, null, null, null, true, true, restarts, null);
    }

    void set(String state, String node, int restarts) {
        job = job(state, node, restarts);
    }

    synchronized List<String> calls() {
        return List.copyOf(calls);
    }

    @Override
    public SlurmJob job(long jobId) {
        return job;
    }

    @Override
    public synchronized void pinHere(long jobId) {
        calls.add("pin " + jobId);
    }

    @Override
    public synchronized void startHere(long jobId, String sourceNode, long downtimeMillis) {
        calls.add("start " + jobId + " from " + sourceNode);
    }
}
