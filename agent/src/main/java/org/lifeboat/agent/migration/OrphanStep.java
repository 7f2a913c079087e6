package org.lifeboat.agent.migration;

import java.util.Set;
import org.lifeboat.agent.slurm.SlurmJob;

/** What becomes of a restored copy whose source fell silent, by what Slurm says of its job. */
enum OrphanStep {
    /** Slurm has not requeued the job (the source, or its node, still holds it), or is in the middle of it. */
    WAIT,
    /** Slurm requeued the job: it is pinned to this node and let start now, its copy kept stopped until then. */
    START_HERE,
    /** The job runs on this node, and its batch script waits for the copy (the resume marker): resume it. */
    RESUME_HERE,
    /** The job went on without this copy (it started afresh elsewhere, or ended): the copy goes. */
    GIVE_UP;

    // States a requeued job passes through, or is held in, on its way back to PENDING or RUNNING.
    private static final Set<String> PASSING_STATES = Set.of("COMPLETING", "CONFIGURING", "REQUEUED", "REQUEUE_FED",
            "REQUEUE_HOLD", "SPECIAL_EXIT", "RESIZING", "SIGNALING", "STAGE_OUT", "SUSPENDED");

    /**
     * @param restartsBefore the job's restart count when this node prepared for it
     * @param startedHere this node has pinned the requeued job to itself
     * @param waitedFor a requeued job started here waits for the copy: the "restoring" resume marker is there
     */
    static OrphanStep of(SlurmJob job, int restartsBefore, boolean startedHere, boolean waitedFor, String thisNode) {
        if (job.restarts() <= restartsBefore) {
            return WAIT;
        }
        String state = job.state();
        if (state.equals("PENDING")) {
            return startedHere ? WAIT : START_HERE;
        }
        if (state.equals("RUNNING")) {
            return waitedFor && thisNode.equals(job.nodeList()) ? RESUME_HERE : GIVE_UP;
        }
        return PASSING_STATES.contains(state) ? WAIT : GIVE_UP;
    }
}
