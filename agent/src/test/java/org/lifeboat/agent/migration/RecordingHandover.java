package org.lifeboat.agent.migration;

import java.util.ArrayList;
import java.util.List;

/** Slurm as the driver sees it: records what it was asked, fails the one step it is told to. */
final class RecordingHandover implements JobHandover {

    private final List<String> steps = new ArrayList<>();
    private String failing = "";

    RecordingHandover failing(String step) {
        this.failing = step;
        return this;
    }

    synchronized List<String> steps() {
        return List.copyOf(steps);
    }

    @Override
    public void requeue(long jobId) throws Exception {
        step("requeue " + jobId, "requeue");
    }

    @Override
    public void place(long jobId, String sourceNode, String targetNode, long downtimeMillis) throws Exception {
        step("place " + jobId + " " + sourceNode + "->" + targetNode, "place");
    }

    @Override
    public void releaseElsewhere(long jobId, String sourceNode) throws Exception {
        step("release " + jobId + " away from " + sourceNode, "release");
    }

    private synchronized void step(String step, String name) throws Exception {
        steps.add(step);
        if (failing.equals(name)) {
            throw new Exception("slurmctld refused to " + name);
        }
    }
}
