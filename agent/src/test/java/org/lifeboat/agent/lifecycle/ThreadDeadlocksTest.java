package org.lifeboat.agent.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;

/** A real deadlock, on locks that give way to an interrupt, so the test can undo it. */
class ThreadDeadlocksTest {

    private final ThreadDeadlocks deadlocks = new ThreadDeadlocks(ManagementFactory.getThreadMXBean());

    @Test
    void twoThreadsWaitingForEachOthersLockAreNamedWithTheirStacksUntilTheyGiveUp() throws Exception {
        assertEquals(Optional.empty(), deadlocks.failure());
        ReentrantLock registry = new ReentrantLock();
        ReentrantLock history = new ReentrantLock();
        CountDownLatch bothHoldOne = new CountDownLatch(2);
        Thread first = lockingInOrder("deadlock-test-first", registry, history, bothHoldOne);
        Thread second = lockingInOrder("deadlock-test-second", history, registry, bothHoldOne);
        try {
            Optional<String> failure = Optional.empty();
            for (int attempt = 0; attempt < 500 && failure.isEmpty(); attempt++) {
                Thread.sleep(10);
                failure = deadlocks.failure();
            }

            assertTrue(failure.isPresent(), "no deadlock found");
            String firstLine = failure.get().lines().findFirst().orElseThrow();
            assertTrue(firstLine.startsWith("threads deadlocked: ") && firstLine.contains("deadlock-test-first")
                    && firstLine.contains("deadlock-test-second"), firstLine);
            assertTrue(failure.get().contains("ReentrantLock"), failure.get());
        } finally {
            first.interrupt();
            second.interrupt();
            first.join(5_000);
            second.join(5_000);
        }
        assertEquals(Optional.empty(), deadlocks.failure());
    }

    /** A thread that takes {@code held}, waits until the other thread holds its first lock, then waits for {@code wanted}. */
    private static Thread lockingInOrder(String name, ReentrantLock held, ReentrantLock wanted, CountDownLatch bothHoldOne) {
        Thread thread = new Thread(() -> {
            held.lock();
            try {
                bothHoldOne.countDown();
                bothHoldOne.await();
                wanted.lockInterruptibly();
                wanted.unlock();
            } catch (InterruptedException e) {
                // The test ends the deadlock this way.
            } finally {
                held.unlock();
            }
        }, name);
        thread.setDaemon(true);
        thread.start();
        return thread;
    }
}
