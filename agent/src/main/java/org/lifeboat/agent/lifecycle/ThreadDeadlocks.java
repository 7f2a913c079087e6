package org.lifeboat.agent.lifecycle;

import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The agent's threads deadlocked on monitors or locks, as the JVM finds them: threads that will
 * never move again, whichever loop they belong to.
 */
final class ThreadDeadlocks implements Liveness {

    private final ThreadMXBean threads;

    ThreadDeadlocks(ThreadMXBean threads) {
        this.threads = Objects.requireNonNull(threads, "threads");
    }

    /** The deadlocked threads' names on the first line, then their stacks (ThreadInfo's, a few frames each). */
    @Override
    public Optional<String> failure() {
        long[] deadlocked = threads.findDeadlockedThreads();
        if (deadlocked == null) {
            return Optional.empty();
        }
        ThreadInfo[] infos = threads.getThreadInfo(deadlocked, true, true);
        String names = Arrays.stream(infos).filter(Objects::nonNull).map(ThreadInfo::getThreadName)
                .collect(Collectors.joining(", "));
        String stacks = Arrays.stream(infos).filter(Objects::nonNull).map(ThreadInfo::toString)
                .collect(Collectors.joining());
        return Optional.of("threads deadlocked: " + names + "\n" + stacks);
    }
}
