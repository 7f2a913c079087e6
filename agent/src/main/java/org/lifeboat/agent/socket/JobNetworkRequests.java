package org.lifeboat.agent.socket;

import java.io.IOException;

/** What the socket needs for jobs that ask for a network of their own (--migratable=net). */
public interface JobNetworkRequests {

    /** This node gives jobs no network of their own (no job-network.addresses in agent.yaml). */
    JobNetworkRequests NONE = new JobNetworkRequests() {
        @Override
        public boolean available() {
            return false;
        }

        @Override
        public String provide(long job) {
            throw new IllegalStateException("no job networks on this node");
        }

        @Override
        public void jobEnded(long job) {
        }
    };

    /** Whether this node gives jobs networks of their own at all. */
    boolean available();

    /** The job's network namespace on this node, made if it is not there yet; its name. */
    String provide(long job) throws IOException;

    /** The job ended on this node. */
    void jobEnded(long job);
}
