package org.lifeboat.predictor;

/**
 * Drains and resumes nodes in Slurm for predictions. The agent implements it with {@code scontrol}.
 * Lifeboat only ever undoes a drain it made itself: {@link #drainedByOthers} is asked before every
 * drain and every undrain.
 */
public interface NodeDrainer {

    /**
     * Every reason Lifeboat gives starts with this, so that an implementation (and an administrator
     * reading {@code sinfo -R}) can tell Lifeboat's drains from everyone else's.
     */
    String REASON_PREFIX = "lifeboat: ";

    /** Drains the node (no new jobs; running ones keep running) with this reason, which starts with {@link #REASON_PREFIX}. */
    void drain(String node, String reason) throws NodeActionException;

    /** Resumes a node Lifeboat drained. */
    void undrain(String node) throws NodeActionException;

    /**
     * Whether the node is drained or draining with a reason that is not Lifeboat's (an administrator's,
     * Slurm's own, a health check's): such a drain is never touched.
     */
    boolean drainedByOthers(String node) throws NodeActionException;

    /** Whether the node takes jobs: neither drained nor draining, by anyone (an administrator resumed it). */
    boolean inService(String node) throws NodeActionException;
}
