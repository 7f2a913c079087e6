package org.lifeboat.agent.migration;

import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.TimeUnit;

/** Runs each task on the caller's thread, before {@code execute} returns: background work a test can see done. */
final class DirectExecutorService extends AbstractExecutorService {

    private volatile boolean shutdown;
    private volatile int executed;

    int executed() {
        return executed;
    }

    @Override
    public void execute(Runnable command) {
        executed++;
        command.run();
    }

    @Override
    public void shutdown() {
        shutdown = true;
    }

    @Override
    public List<Runnable> shutdownNow() {
        shutdown = true;
        return List.of();
    }

    @Override
    public boolean isShutdown() {
        return shutdown;
    }

    @Override
    public boolean isTerminated() {
        return shutdown;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
        return true;
    }
}
