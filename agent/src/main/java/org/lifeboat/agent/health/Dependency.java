package org.lifeboat.agent.health;

/**
 * What the agent needs from its node to move jobs, each checked again and again while it runs. The
 * labels are what /health and the {@code lifeboat_dependency_ready} gauge call them: a fixed set.
 */
public enum Dependency {
    /** CRIU, which dumps and restores every job. */
    CRIU("criu"),
    /** munged, which vouches for every message between agents (when peer.authentication is munge). */
    MUNGE("munge"),
    /** slurmctld, which the agent asks about drains and targets and which requeues moved jobs. */
    SLURM("slurm"),
    /** The checkpoint directory (a tmpfs), where images are written and received. */
    CHECKPOINT_DIRECTORY("checkpoint-directory");

    private final String label;

    Dependency(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
