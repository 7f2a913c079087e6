package org.lifeboat.agent.wiring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.lifecycle.LifeCycleManager;

class AgentThreadsTest {

    private final AgentThreads threads = new AgentThreads(2);

    @Test
    void theLifecycleShutsEveryPoolDownAndWaitsForItsWorkOnStop() throws Exception {
        LifeCycleManager lifeCycle = new LifeCycleManager("test", List.of(threads));
        lifeCycle.start();
        CountDownLatch ran = new CountDownLatch(threads.pools().size());
        for (ExecutorService pool : threads.pools()) {
            pool.execute(() -> {
                sleep(50);
                ran.countDown();
            });
        }

        lifeCycle.stop();

        assertEquals(0, ran.getCount(), "work in hand when the stop came is waited for");
        for (ExecutorService pool : threads.pools()) {
            assertTrue(pool.isTerminated(), pool.toString());
        }
    }

    @Test
    void everyPoolTheCollaboratorsGetIsOneTheLifecycleStops() {
        List<ExecutorService> handedOut = List.of(threads.criuDumps(), threads.incomingBackground(),
                threads.parkedRestores(), threads.arpAnnouncements(), threads.evacuations());

        assertEquals(handedOut.size(), threads.pools().size());
        assertTrue(threads.pools().containsAll(handedOut));
    }

    @Test
    void aStoppedPoolTakesNoMoreWork() {
        threads.stop();

        assertThrows(RejectedExecutionException.class, () -> threads.criuDumps().execute(() -> { }));
    }

    @Test
    void theThreadsAreNamedDaemons() throws Exception {
        Thread[] seen = new Thread[1];
        threads.evacuations().submit(() -> seen[0] = Thread.currentThread()).get(5, TimeUnit.SECONDS);

        assertEquals("lifeboat-evacuation", seen[0].getName());
        assertTrue(seen[0].isDaemon());
        threads.stop();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
