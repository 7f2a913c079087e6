package org.lifeboat.agent.migration;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.lifeboat.agent.criu.Criu;
import org.lifeboat.agent.criu.CriuException;
import org.lifeboat.agent.storage.AtomicFiles;

/**
 * The target's half of a post-copy migration: CRIU's lazy-pages daemon under its guard (see
 * {@link Criu#startLazyPages}), and the two files it shares with the guard, beside the images in
 * the incoming directory, which only root can write: the restored tree's pid, which the guard kills
 * if the memory stops arriving, and the guard's verdict once the daemon has ended.
 */
final class LazyPages {

    private static final Duration CRIU_TIMEOUT = Duration.ofMinutes(2);
    private static final Duration POLL = Duration.ofMillis(50);
    // As for the page server: a Unix socket's path must stay short, whatever the checkout or site path.
    private static final Path SOCKET_PARENT = Path.of(System.getProperty("java.io.tmpdir"));
    static final String COMPLETE = "complete";

    private LazyPages() {
    }

    /** The guard's verdict on the migration whose images are {@code images}. */
    static Path statusFile(Path images) {
        return images.resolveSibling(images.getFileName() + ".lazy-status");
    }

    /** The restored tree's init, for the guard. */
    static Path restoredPidFile(Path images) {
        return images.resolveSibling(images.getFileName() + ".restored-pid");
    }

    /** Starts the daemon before the restore; returns the agent's end of its connection to the source's pages. */
    static SocketChannel start(Criu criu, Path images) throws CriuException {
        return criu.startLazyPages(images, SOCKET_PARENT.resolve("lifeboat-lazy-pages-" + UUID.randomUUID()),
                statusFile(images), restoredPidFile(images), CRIU_TIMEOUT);
    }

    /** Tells the guard which tree to kill should the memory stop arriving; written once the restore succeeded. */
    static void restored(Path images, long pid) throws IOException {
        AtomicFiles.write(restoredPidFile(images), (pid + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * Waits for the guard's verdict.
     *
     * @return empty if the daemon still runs when the timeout passes; else "complete", or why it failed
     */
    static Optional<String> awaitVerdict(Path images, Duration timeout) throws IOException, InterruptedException {
        Path status = statusFile(images);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (Files.exists(status)) {
                // The guard writes the file whole before it is seen complete; an empty read is its first instant.
                String verdict = Files.readString(status, StandardCharsets.US_ASCII).strip();
                if (!verdict.isEmpty()) {
                    return Optional.of(verdict);
                }
            }
            if (System.nanoTime() > deadline) {
                return Optional.empty();
            }
            Thread.sleep(POLL.toMillis());
        }
    }

    /** Removes the two files. */
    static void forget(Path images) throws IOException {
        Files.deleteIfExists(statusFile(images));
        Files.deleteIfExists(restoredPidFile(images));
    }

    static boolean complete(String verdict) {
        return Objects.equals(verdict, COMPLETE);
    }
}
