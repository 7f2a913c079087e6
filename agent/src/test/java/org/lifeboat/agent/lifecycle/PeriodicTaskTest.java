package org.lifeboat.agent.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class PeriodicTaskTest {

    private final AtomicInteger runs = new AtomicInteger();

    @Test
    void runsAgainAndAgainFromStartUntilStop() throws Exception {
        PeriodicTask task = new PeriodicTask("test-periodic", Duration.ZERO, Duration.ofMillis(10), runs::incrementAndGet);

        task.start();
        while (runs.get() < 3) {
            Thread.sleep(5);
        }
        task.stop();
        int afterStop = runs.get();
        Thread.sleep(50);

        assertEquals(afterStop, runs.get(), "ran after stop");
    }

    @Test
    void aRunThatThrowsDoesNotEndTheSchedule() throws Exception {
        PeriodicTask task = new PeriodicTask("test-periodic", Duration.ZERO, Duration.ofMillis(10), () -> {
            if (runs.incrementAndGet() == 1) {
                throw new IllegalStateException("the first run fails");
            }
        });

        task.start();
        try {
            while (runs.get() < 3) {
                Thread.sleep(5);
            }
        } finally {
            task.stop();
        }
        assertTrue(runs.get() >= 3);
    }

    @Test
    void nothingRunsBeforeTheInitialDelay() throws Exception {
        PeriodicTask task = new PeriodicTask("test-periodic", Duration.ofHours(1), Duration.ofMillis(10), runs::incrementAndGet);

        task.start();
        Thread.sleep(50);
        task.stop();

        assertEquals(0, runs.get());
    }

    @Test
    void aRunThatHangsIsReportedToTheWatchdogAndAStoppedTaskIsNot() throws Exception {
        CountDownLatch hanging = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        PeriodicTask task = new PeriodicTask("hangs", Duration.ZERO, Duration.ofMillis(10), () -> {
            hanging.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        Liveness liveness = task.liveness(Duration.ofMillis(100));

        task.start();
        assertTrue(hanging.await(10, TimeUnit.SECONDS));
        assertEquals(Optional.empty(), liveness.failure(), "a run under way for less than the limit");
        Thread.sleep(200);
        assertEquals(Optional.of("hangs has been in one run for more than 0 s"), liveness.failure());
        release.countDown();
        task.stop();
        assertEquals(Optional.empty(), liveness.failure());
    }

    @Test
    void aTaskNeverStartedStopsAtOnce() {
        new PeriodicTask("test-periodic", Duration.ZERO, Duration.ofMillis(10), runs::incrementAndGet).stop();

        assertEquals(0, runs.get());
    }
}
