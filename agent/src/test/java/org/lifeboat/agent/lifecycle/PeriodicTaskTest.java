package org.lifeboat.agent.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
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
    void aTaskNeverStartedStopsAtOnce() {
        new PeriodicTask("test-periodic", Duration.ZERO, Duration.ofMillis(10), runs::incrementAndGet).stop();

        assertEquals(0, runs.get());
    }
}
