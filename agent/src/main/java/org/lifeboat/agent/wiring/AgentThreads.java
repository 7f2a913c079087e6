package org.lifeboat.agent.wiring;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import org.lifeboat.agent.lifecycle.LifeCycleComponent;

/**
 * The thread pools of the agent's collaborators that are not lifecycle components themselves,
 * created once, with the wiring, and handed to their users through their constructors. First in
 * the lifecycle, so stopped last, after everything that submits work to them.
 *
 * <p>Stopping takes no new work and waits a little for what runs, but interrupts nothing: a thread
 * here may be waiting for a CRIU dump, which an interrupt would kill with the job frozen. What is
 * still running after the grace is named in the log and ends with the JVM, as it always did; the
 * crash recovery at the next start finishes it. The servers, the drain watcher, the silence sweep
 * and the predictor start and stop their own threads in their own start and stop.
 */
public final class AgentThreads implements LifeCycleComponent {

    static final Duration STOP_GRACE = Duration.ofSeconds(5);
    private static final Logger LOG = Logger.getLogger(AgentThreads.class.getName());

    // By thread name, in creation order: what the stop log names.
    private final Map<String, ExecutorService> pools = new LinkedHashMap<>();
    private final ExecutorService criuDumps = cached("lifeboat-criu-dump");
    private final ExecutorService incomingBackground = cached("lifeboat-incoming-background");
    private final ExecutorService parkedRestores = cached("lifeboat-parked-restore");
    private final ExecutorService arpAnnouncements = fixed("lifeboat-arp-announce", 1);
    private final ExecutorService evacuations;

    /** @param evacuationConcurrency how many migrations an evacuation runs at once */
    public AgentThreads(int evacuationConcurrency) {
        this.evacuations = fixed("lifeboat-evacuation", evacuationConcurrency);
    }

    /** CRIU's dumps for migrations, each beside the thread that walks the phases around it. */
    public ExecutorService criuDumps() {
        return criuDumps;
    }


    /** The target side's work off a request's path: Slurm reads, deletions, recovery of confirmed migrations. */
    public ExecutorService incomingBackground() {
        return incomingBackground;
    }

    /** Restores of parked checkpoints, beside the registration that asked for them. */
    public ExecutorService parkedRestores() {
        return parkedRestores;
    }

    /** Gratuitous ARP for a job's address on its new node, one at a time. */
    public ExecutorService arpAnnouncements() {
        return arpAnnouncements;
    }

    /** An evacuation's migrations: the pool's size bounds how many run at once. */
    public ExecutorService evacuations() {
        return evacuations;
    }

    /** Nothing to start: the pools exist from the wiring on, since their users take them when they are built. */
    @Override
    public void start() {
    }

    @Override
    public void stop() {
        pools.values().forEach(ExecutorService::shutdown);
        long deadline = System.nanoTime() + STOP_GRACE.toNanos();
        List<String> stillRunning = new ArrayList<>();
        for (Map.Entry<String, ExecutorService> pool : pools.entrySet()) {
            try {
                if (!pool.getValue().awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    stillRunning.add(pool.getKey());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stillRunning.add(pool.getKey());
            }
        }
        if (!stillRunning.isEmpty()) {
            LOG.warning("still at work after " + STOP_GRACE.toSeconds() + " s, left to end with the agent: " + stillRunning);
        }
    }

    /** Every pool, for the test that stop shuts each one down. */
    List<ExecutorService> pools() {
        return List.copyOf(pools.values());
    }

    private ExecutorService cached(String name) {
        return register(name, Executors.newCachedThreadPool(daemon(name)));
    }

    private ExecutorService fixed(String name, int threads) {
        return register(name, Executors.newFixedThreadPool(threads, daemon(name)));
    }

    private ExecutorService register(String name, ExecutorService pool) {
        pools.put(name, pool);
        return pool;
    }

    /** Daemon threads: a pool must never keep the JVM from exiting once the lifecycle has stopped. */
    private static ThreadFactory daemon(String name) {
        return runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        };
    }
}
