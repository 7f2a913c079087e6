package org.lifeboat.agent.lifecycle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LifeCycleManagerTest {

    private final List<String> events = new ArrayList<>();

    @Test
    void startsInOrderAndStopsInReverse() throws Exception {
        LifeCycleManager manager = new LifeCycleManager("test", List.of(component("a"), component("b"), component("c")));

        manager.start();
        manager.stop();

        assertEquals(List.of("start a", "start b", "start c", "stop c", "stop b", "stop a"), events);
    }

    @Test
    void stoppingTwiceStopsEachComponentOnce() throws Exception {
        LifeCycleManager manager = new LifeCycleManager("test", List.of(component("a")));
        manager.start();

        manager.stop();
        manager.stop();

        assertEquals(List.of("start a", "stop a"), events);
    }

    @Test
    void stopFailuresDoNotSkipComponentsAndAreKeptAsSuppressedExceptionsOfTheFirst() throws Exception {
        IOException first = new IOException("c failed");
        IllegalStateException second = new IllegalStateException("b failed");
        LifeCycleManager manager = new LifeCycleManager("test", List.of(
                component("a"), failingToStop("b", second), failingToStop("c", first)));
        manager.start();

        IOException thrown = assertThrows(IOException.class, manager::stop);

        assertSame(first, thrown);
        assertArrayEquals(new Throwable[] {second}, thrown.getSuppressed());
        assertEquals(List.of("start a", "start b", "start c", "stop c", "stop b", "stop a"), events);
    }

    @Test
    void aFailedStartStopsWhatHadStartedAndSkipsTheRest() {
        IOException startFailure = new IOException("b cannot start");
        LifeCycleManager manager = new LifeCycleManager("test", List.of(
                component("a"), failingToStart("b", startFailure), component("c")));

        IOException thrown = assertThrows(IOException.class, manager::start);

        assertSame(startFailure, thrown);
        assertEquals(List.of("start a", "start b", "stop a"), events);
    }

    @Test
    void aFailedStartCarriesTheStopFailuresItCaused() {
        IOException startFailure = new IOException("b cannot start");
        IOException stopFailure = new IOException("a cannot stop");
        LifeCycleManager manager = new LifeCycleManager("test", List.of(
                failingToStop("a", stopFailure), failingToStart("b", startFailure)));

        IOException thrown = assertThrows(IOException.class, manager::start);

        assertArrayEquals(new Throwable[] {stopFailure}, thrown.getSuppressed());
    }

    @Test
    void cannotStartAgainAfterStopping() throws Exception {
        LifeCycleManager manager = new LifeCycleManager("test", List.of(component("a")));
        manager.start();
        manager.stop();

        assertThrows(IllegalStateException.class, manager::start);
    }

    @Test
    void awaitStopBlocksUntilStopped() throws Exception {
        LifeCycleManager manager = new LifeCycleManager("test", List.of(component("a")));
        manager.start();
        Thread waiter = new Thread(() -> {
            try {
                manager.awaitStop();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        waiter.start();

        waiter.join(200);
        assertTrue(waiter.isAlive(), "awaitStop returned before stop");
        manager.stop();
        waiter.join(5_000);

        assertFalse(waiter.isAlive(), "awaitStop did not return after stop");
    }

    private LifeCycleComponent component(String name) {
        return new RecordingComponent(name, null, null);
    }

    private LifeCycleComponent failingToStart(String name, IOException failure) {
        return new RecordingComponent(name, failure, null);
    }

    private LifeCycleComponent failingToStop(String name, Exception failure) {
        return new RecordingComponent(name, null, failure);
    }

    /** Records its calls in {@link #events} and fails where told to. */
    private final class RecordingComponent implements LifeCycleComponent {
        private final String name;
        private final IOException startFailure;
        private final Exception stopFailure;

        RecordingComponent(String name, IOException startFailure, Exception stopFailure) {
            this.name = name;
            this.startFailure = startFailure;
            this.stopFailure = stopFailure;
        }

        @Override
        public void start() throws IOException {
            events.add("start " + name);
            if (startFailure != null) {
                throw startFailure;
            }
        }

        @Override
        public void stop() throws IOException {
            events.add("stop " + name);
            if (stopFailure instanceof IOException) {
                throw (IOException) stopFailure;
            }
            if (stopFailure != null) {
                throw (RuntimeException) stopFailure;
            }
        }
    }
}
