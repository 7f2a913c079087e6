package org.lifeboat.agent.lifecycle;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Pings systemd's watchdog ({@code WatchdogSec=} in the unit) with {@code WATCHDOG=1}, every half of
 * the timeout systemd passes in {@code WATCHDOG_USEC}, for as long as the agent is of use: every
 * {@link Liveness} it was given reports its loop running, and no threads are deadlocked. Once one is
 * not, the pings stop for good (a dead thread does not come back): systemd kills the agent when the
 * timeout passes and starts it again ({@code Restart=on-failure}), and the start's recovery takes over
 * as after a crash. Without {@code WATCHDOG_USEC} (no {@code WatchdogSec=}, or the agent run by hand)
 * it does nothing.
 */
public final class SystemdWatchdog implements LifeCycleComponent {

    static final String WATCHDOG_USEC = "WATCHDOG_USEC";
    static final String WATCHDOG_PID = "WATCHDOG_PID";
    private static final String PING = "WATCHDOG=1";
    private static final Logger LOG = Logger.getLogger(SystemdWatchdog.class.getName());

    // Empty when systemd watches nothing: then nothing is scheduled.
    private final Optional<Pinging> pinging;
    private final List<Liveness> loops;
    private ScheduledExecutorService timer;
    // Read and written on the timer's thread only.
    private boolean givenUp;
    private String lastSendFailure = "";

    /** Where the pings go and how often. */
    record Pinging(NotificationSink systemd, Duration interval) {
        Pinging {
            Objects.requireNonNull(systemd, "systemd");
            Objects.requireNonNull(interval, "interval");
        }
    }

    SystemdWatchdog(Optional<Pinging> pinging, List<Liveness> loops) {
        this.pinging = Objects.requireNonNull(pinging, "pinging");
        this.loops = List.copyOf(loops);
    }

    /**
     * The watchdog systemd asks for in this process's environment, watching {@code loops} and the
     * JVM's deadlocks.
     *
     * @param pid this process's pid, which WATCHDOG_PID must name when it is set
     */
    public static SystemdWatchdog fromEnvironment(Map<String, String> environment, long pid, List<Liveness> loops) {
        List<Liveness> watched = new ArrayList<>(loops);
        watched.add(new ThreadDeadlocks(ManagementFactory.getThreadMXBean()));
        Optional<Pinging> pinging = SystemdNotification.notifySocket(environment)
                .flatMap(socket -> pingInterval(environment, pid).map(interval -> new Pinging(socket, interval)));
        return new SystemdWatchdog(pinging, watched);
    }

    /**
     * Half of WATCHDOG_USEC, as sd_watchdog_enabled(3) reads it: nothing when it is unset, and nothing
     * when WATCHDOG_PID is set and names another process (the variables were meant for a parent, and
     * passed down). systemd never sets a value that is not a positive number; one is logged and ignored.
     */
    static Optional<Duration> pingInterval(Map<String, String> environment, long pid) {
        String timeout = environment.get(WATCHDOG_USEC);
        if (timeout == null || timeout.isEmpty()) {
            return Optional.empty();
        }
        String watchedPid = environment.get(WATCHDOG_PID);
        if (watchedPid != null && !watchedPid.isEmpty()) {
            Optional<Long> watched = positiveNumber(WATCHDOG_PID, watchedPid);
            if (watched.isEmpty() || watched.get() != pid) {
                return Optional.empty();
            }
        }
        return positiveNumber(WATCHDOG_USEC, timeout)
                .map(microseconds -> Duration.of(Math.max(1, microseconds / 2), ChronoUnit.MICROS));
    }

    private static Optional<Long> positiveNumber(String variable, String value) {
        try {
            long number = Long.parseLong(value);
            if (number > 0) {
                return Optional.of(number);
            }
        } catch (NumberFormatException e) {
            // Said below, like a number that is not positive.
        }
        LOG.warning("ignoring " + variable + "=" + value + ": not a positive number; no watchdog pings");
        return Optional.empty();
    }

    @Override
    public void start() {
        if (pinging.isEmpty()) {
            return;
        }
        timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "lifeboat-systemd-watchdog");
            thread.setDaemon(true);
            return thread;
        });
        // With a fixed delay, not a fixed rate: after a stall the pings do not come in a burst.
        timer.scheduleWithFixedDelay(this::ping, 0, TimeUnit.MICROSECONDS.convert(pinging.get().interval()),
                TimeUnit.MICROSECONDS);
        LOG.info("pinging systemd's watchdog every " + pinging.get().interval().toMillis() + " ms");
    }

    @Override
    public void stop() {
        if (timer == null) {
            return;
        }
        timer.shutdownNow();
        try {
            timer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One round: every loop asked, then WATCHDOG=1 or, the first time one has failed, why not. */
    void ping() {
        if (givenUp) {
            return;
        }
        NotificationSink systemd = pinging.orElseThrow().systemd();
        // Anything thrown here would end the schedule without a word, and with it the pings.
        try {
            Optional<String> failure = firstFailure();
            if (failure.isPresent()) {
                givenUp = true;
                LOG.severe("no more watchdog pings to systemd, which restarts the agent once WatchdogSec has passed: "
                        + failure.get());
                String firstLine = failure.get().lines().findFirst().orElse("");
                send(systemd, "STATUS=unhealthy, awaiting the watchdog's restart: " + firstLine);
                return;
            }
            send(systemd, PING);
        } catch (RuntimeException e) {
            LOG.warning("a watchdog round failed: " + e);
        }
    }

    private Optional<String> firstFailure() {
        for (Liveness loop : loops) {
            Optional<String> failure = loop.failure();
            if (failure.isPresent()) {
                return failure;
            }
        }
        return Optional.empty();
    }

    /** A failed send is logged once per distinct failure: the next round tries again. */
    private void send(NotificationSink systemd, String message) {
        try {
            systemd.send(message);
            lastSendFailure = "";
        } catch (IOException e) {
            String failure = Objects.toString(e.getMessage(), e.toString());
            if (!failure.equals(lastSendFailure)) {
                LOG.warning(failure);
                lastSendFailure = failure;
            }
        }
    }
}
