package org.lifeboat.agent.socket;

import org.lifeboat.agent.registry.JobRecord;

/**
 * Who may do what through the agent's socket. Registrations come from slurmstepd and the epilog,
 * which run as root or as Slurm's SlurmUser; any other user may see and act on their own jobs only;
 * root may do anything.
 */
public final class Authorizer {

    private final int slurmUserUid;

    /** @param slurmUserUid the uid of Slurm's SlurmUser, the one user besides root that may register jobs */
    public Authorizer(int slurmUserUid) {
        this.slurmUserUid = slurmUserUid;
    }

    public boolean mayRegister(PeerCredentials peer) {
        return peer.isRoot() || peer.uid() == slurmUserUid;
    }

    public boolean mayAccess(PeerCredentials peer, JobRecord job) {
        return mayAccess(peer, job.uid());
    }

    /** Whether the peer may see what concerns a job owned by {@code ownerUid} (a past migration, say). */
    public boolean mayAccess(PeerCredentials peer, int ownerUid) {
        return peer.isRoot() || peer.uid() == ownerUid;
    }
}
