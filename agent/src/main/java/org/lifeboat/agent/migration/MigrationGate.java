package org.lifeboat.agent.migration;

import java.util.Optional;
import org.lifeboat.agent.peer.PeerRequestException;

/**
 * Whether this node may take part in migrations at all. It is asked before anything is done, so a
 * node whose CRIU cannot work refuses at once, with the reason, instead of failing half-way (and
 * freezing the job for nothing).
 */
@FunctionalInterface
public interface MigrationGate {

    /** The error code of a refusal in a peer's error reply; the local socket names it the same. */
    String CRIU_UNUSABLE = "criu-unusable";

    /** Why no migration may leave or reach this node now; empty when they may. */
    Optional<String> closedBecause();

    /**
     * Why this node can take no post-copy migration (its CRIU or kernel has no lazy pages); empty when
     * it can. Gates that say nothing of it (tests' lambdas) allow it.
     */
    default Optional<String> postCopyUnsupportedBecause() {
        return Optional.empty();
    }

    /** Refuses a migration in {@code mode} this node cannot take part in, as source or as target. */
    default void requireMode(TransferMode mode, String what) throws MigrationException {
        if (mode == TransferMode.POST_COPY) {
            Optional<String> reason = postCopyUnsupportedBecause();
            if (reason.isPresent()) {
                throw new MigrationException(MigrationException.Reason.CRIU_UNUSABLE, what + " cannot be post-copy: "
                        + reason.get());
            }
        }
    }

    /** Refuses a migration (or a park) of this node's job: the caller is {@code lifeboat migrate} or the evacuator. */
    default void requireOpenToSend(long job) throws MigrationException {
        Optional<String> reason = closedBecause();
        if (reason.isPresent()) {
            throw new MigrationException(MigrationException.Reason.CRIU_UNUSABLE, "job " + job + " cannot leave this node: " + reason.get());
        }
    }

    /** Refuses to prepare for a migration another node's agent offers. */
    default void requireOpenToReceive(String migration) throws PeerRequestException {
        Optional<String> reason = closedBecause();
        if (reason.isPresent()) {
            throw new PeerRequestException(CRIU_UNUSABLE, "migration " + migration + " cannot come to this node: "
                    + reason.get());
        }
    }
}
