package org.lifeboat.agent.lifecycle;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Starts components in order and stops them in reverse, so each component can rely on those started
 * before it for as long as it runs.
 */
public final class LifeCycleManager {

    private static final Logger LOG = Logger.getLogger(LifeCycleManager.class.getName());

    private final String name;
    private final List<LifeCycleComponent> components;
    private final Deque<LifeCycleComponent> started = new ArrayDeque<>();
    private final CountDownLatch finished = new CountDownLatch(1);

    /** @param name what the log calls the whole, for example "lifeboat agent" */
    public LifeCycleManager(String name, List<LifeCycleComponent> components) {
        this.name = Objects.requireNonNull(name, "name");
        this.components = List.copyOf(Objects.requireNonNull(components, "components"));
    }

    /**
     * Starts every component. If one fails, those already started are stopped again and the start
     * failure is thrown, carrying any stop failures as suppressed exceptions.
     */
    public synchronized void start() throws IOException {
        if (finished.getCount() == 0) {
            throw new IllegalStateException(name + " has already stopped");
        }
        for (LifeCycleComponent component : components) {
            try {
                component.start();
            } catch (IOException | RuntimeException startFailure) {
                Exception stopFailure = stopStarted();
                if (stopFailure != null) {
                    startFailure.addSuppressed(stopFailure);
                }
                finished.countDown();
                throw startFailure;
            }
            started.push(component);
        }
    }

    /**
     * Stops the started components in reverse order. Every component gets its stop call even when an
     * earlier one fails; the first failure is thrown with the later ones suppressed. Calling it again
     * does nothing, so the shutdown hook and an explicit stop can both call it.
     */
    public synchronized void stop() throws IOException {
        if (finished.getCount() == 0) {
            return;
        }
        Exception failure = stopStarted();
        finished.countDown();
        LOG.info(name + " stopped");
        if (failure instanceof IOException) {
            throw (IOException) failure;
        }
        if (failure != null) {
            throw (RuntimeException) failure;
        }
    }

    /** Stops the components when the JVM shuts down, which is how SIGTERM from systemd or Slurm arrives. */
    public void stopOnShutdown() {
        Runtime.getRuntime().addShutdownHook(new Thread(this::stopLoggingFailure, "lifeboat-shutdown"));
    }

    /** Blocks until {@link #stop()} has run, or until a failed start has undone itself. */
    public void awaitStop() throws InterruptedException {
        finished.await();
    }

    private void stopLoggingFailure() {
        try {
            stop();
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.SEVERE, name + " did not stop cleanly", e);
        }
    }

    private Exception stopStarted() {
        Exception first = null;
        while (!started.isEmpty()) {
            try {
                started.pop().stop();
            } catch (IOException | RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        return first;
    }
}
