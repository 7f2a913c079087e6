package org.lifeboat.agent.criu;

/**
 * Whose job CRIU checkpoints or restores: CRIU runs as this user, not as root (see {@link Criu}),
 * so a CRIU bug or a crafted image acts with the job owner's rights and two capabilities, never as root.
 */
public record JobOwner(int uid, int gid) {

    public JobOwner {
        if (uid <= 0 || gid < 0) {
            throw new IllegalArgumentException("a job owner is an ordinary user (uid " + uid + ", gid " + gid
                    + "); root's jobs are checkpointed by root");
        }
    }
}
