package org.lifeboat.agent.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import jnr.unixsocket.UnixDatagramChannel;
import jnr.unixsocket.UnixSocketAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The watchdog's rounds against a recording sink, and its timer against a real notify socket. */
class SystemdWatchdogTest {

    private static final long PID = 4242;
    private static final String TEST_OVER = "TEST_OVER=1";

    @TempDir
    Path directory;

    private final List<String> sent = new ArrayList<>();
    private final NotificationSink recording = sent::add;

    @Test
    void pingsComeEveryHalfOfWatchdogUsec() {
        assertEquals(Optional.of(Duration.ofSeconds(60)),
                SystemdWatchdog.pingInterval(Map.of("WATCHDOG_USEC", "120000000"), PID));
        assertEquals(Optional.of(Duration.ofNanos(1000)), SystemdWatchdog.pingInterval(Map.of("WATCHDOG_USEC", "1"), PID),
                "a microsecond at least");
    }

    @Test
    void theLargestTimeoutSystemdCouldPassStartsATimerAllTheSame() {
        assertEquals(Optional.of(Duration.of(Long.MAX_VALUE / 2, ChronoUnit.MICROS)),
                SystemdWatchdog.pingInterval(Map.of("WATCHDOG_USEC", Long.toString(Long.MAX_VALUE)), PID));
        SystemdWatchdog watchdog = new SystemdWatchdog(Optional.of(new SystemdWatchdog.Pinging(recording,
                Duration.of(Long.MAX_VALUE / 2, ChronoUnit.MICROS))), List.of());

        watchdog.start();
        watchdog.stop();
    }

    @Test
    void withoutWatchdogUsecThereAreNoPings() {
        assertEquals(Optional.empty(), SystemdWatchdog.pingInterval(Map.of(), PID));
        assertEquals(Optional.empty(), SystemdWatchdog.pingInterval(Map.of("WATCHDOG_USEC", ""), PID));
    }

    @Test
    void watchdogPidMustNameThisProcessWhenItIsSet() {
        assertEquals(Optional.of(Duration.ofSeconds(1)),
                SystemdWatchdog.pingInterval(Map.of("WATCHDOG_USEC", "2000000", "WATCHDOG_PID", "4242"), PID));
        assertEquals(Optional.empty(),
                SystemdWatchdog.pingInterval(Map.of("WATCHDOG_USEC", "2000000", "WATCHDOG_PID", "1"), PID),
                "meant for a parent that passed its environment down");
        assertEquals(Optional.empty(),
                SystemdWatchdog.pingInterval(Map.of("WATCHDOG_USEC", "2000000", "WATCHDOG_PID", "self"), PID));
    }

    @Test
    void aTimeoutThatIsNotAPositiveNumberOfMicrosecondsMeansNoPings() {
        for (String timeout : List.of("0", "-1000000", "60s", "1.5", "99999999999999999999")) {
            assertEquals(Optional.empty(), SystemdWatchdog.pingInterval(Map.of("WATCHDOG_USEC", timeout), PID), timeout);
        }
    }

    @Test
    void eachRoundOfAHealthyAgentPings() {
        SystemdWatchdog watchdog = watching(() -> Optional.empty(), () -> Optional.empty());

        watchdog.ping();
        watchdog.ping();

        assertEquals(List.of("WATCHDOG=1", "WATCHDOG=1"), sent);
    }

    @Test
    void aLoopThatEndedStopsThePingsForGoodAndTheStatusSaysWhy() {
        SettableLiveness peerServer = new SettableLiveness();
        SystemdWatchdog watchdog = watching(() -> Optional.empty(), peerServer);
        watchdog.ping();

        peerServer.failure = Optional.of("the peer server accepts no more connections\nmore detail");
        watchdog.ping();
        watchdog.ping();
        peerServer.failure = Optional.empty();
        watchdog.ping();

        assertEquals(List.of("WATCHDOG=1",
                "STATUS=unhealthy, awaiting the watchdog's restart: the peer server accepts no more connections"), sent);
    }

    @Test
    void aFailedSendOrACheckThatThrowsCostsOneRoundOnly() {
        SettableLiveness flaky = new SettableLiveness();
        flaky.throwOnce = true;
        List<String> delivered = new ArrayList<>();
        boolean[] failNext = {true};
        NotificationSink lossy = message -> {
            if (failNext[0]) {
                failNext[0] = false;
                throw new IOException("cannot tell systemd " + message + ": Connection refused");
            }
            delivered.add(message);
        };
        SystemdWatchdog watchdog = new SystemdWatchdog(Optional.of(new SystemdWatchdog.Pinging(lossy, Duration.ofSeconds(1))),
                List.of(flaky));

        watchdog.ping();
        watchdog.ping();
        watchdog.ping();

        assertEquals(List.of("WATCHDOG=1"), delivered, "the first round threw, the second lost its ping, the third sent it");
    }

    @Test
    void theTimerPingsTheSocketNotifySocketNamesUntilTheWatchdogStops() throws Exception {
        Path socket = directory.resolve("notify");
        BlockingQueue<String> received = new LinkedBlockingQueue<>();
        try (UnixDatagramChannel systemd = UnixDatagramChannel.open()) {
            systemd.bind(new UnixSocketAddress(socket.toString()));
            Thread receiver = receiving(systemd, received);
            SystemdWatchdog watchdog = SystemdWatchdog.fromEnvironment(
                    Map.of("NOTIFY_SOCKET", socket.toString(), "WATCHDOG_USEC", "40000"), PID, List.of());

            watchdog.start();
            long started = System.nanoTime();
            for (int ping = 0; ping < 3; ping++) {
                assertEquals("WATCHDOG=1", received.poll(10, TimeUnit.SECONDS));
            }
            long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            watchdog.stop();
            received.clear();
            Thread.sleep(100);

            // The first ping goes at once, the next two 20 ms apart each.
            assertTrue(elapsedMillis >= 40, "three pings in " + elapsedMillis + " ms");
            assertEquals(List.of(), List.copyOf(received), "pings after stop");
            new NotifySocket(socket.toString()).send(TEST_OVER);
            receiver.join(5_000);
        }
    }

    @Test
    void withoutNotifySocketTheWatchdogDoesNothing() {
        SystemdWatchdog watchdog = SystemdWatchdog.fromEnvironment(Map.of("WATCHDOG_USEC", "40000"), PID, List.of());

        watchdog.start();
        watchdog.stop();
    }

    private SystemdWatchdog watching(Liveness... loops) {
        return new SystemdWatchdog(Optional.of(new SystemdWatchdog.Pinging(recording, Duration.ofSeconds(1))), List.of(loops));
    }

    /**
     * A thread that queues each datagram systemd's socket receives, until {@link #TEST_OVER} (closing a
     * jnr channel does not wake a receive blocked on it).
     */
    private static Thread receiving(UnixDatagramChannel systemd, BlockingQueue<String> received) {
        Thread thread = new Thread(() -> {
            ByteBuffer buffer = ByteBuffer.allocate(256);
            try {
                while (true) {
                    buffer.clear();
                    systemd.receive(buffer);
                    buffer.flip();
                    String message = StandardCharsets.UTF_8.decode(buffer).toString();
                    if (message.equals(TEST_OVER)) {
                        return;
                    }
                    received.add(message);
                }
            } catch (IOException e) {
                received.add("receive failed: " + e.getMessage());
            }
        }, "test-notify-receiver");
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    /** A loop whose state the test sets, and which can throw once, as a check with a bug would. */
    private static final class SettableLiveness implements Liveness {
        private volatile Optional<String> failure = Optional.empty();
        private volatile boolean throwOnce;

        @Override
        public Optional<String> failure() {
            if (throwOnce) {
                throwOnce = false;
                throw new IllegalStateException("a check with a bug");
            }
            return failure;
        }
    }
}
