package org.lifeboat.agent.lifecycle;

import java.io.IOException;

/** A part of the agent that holds resources between start and stop: sockets, threads, child processes. */
public interface LifeCycleComponent {

    void start() throws IOException;

    void stop() throws IOException;
}
