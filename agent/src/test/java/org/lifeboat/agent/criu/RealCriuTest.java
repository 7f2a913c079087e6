package org.lifeboat.agent.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.agent.process.ProcessCommandRunner;
import org.lifeboat.testbed.Testbed;

/**
 * What the agent relies on from the real CRIU: the testbed's CRIU (testbed/criu.sh, run by
 * ./test.sh before the integration tests) dumps and restores a process this test starts; its
 * statistics images read back, and a restore with the options {@link Criu} gives a diskless
 * migration's copy frees the pages of the images as it restores them. Needs root; needs no cluster.
 */
@Tag("integration")
class RealCriuTest {

    private static final Duration CRIU_TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path directory;

    private final Path criu = new Testbed(Testbed.locateRepository()).criu();
    private final ProcessCommandRunner commands = new ProcessCommandRunner();
    private final List<Long> started = new ArrayList<>();

    @AfterEach
    void killWhatIsLeft() {
        started.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }

    @Test
    void aDumpAndItsRestoreLeaveStatisticsThatReadBackConsistently() throws Exception {
        Path images = Files.createDirectory(directory.resolve("images"));
        long pid = startSleeper();

        criu(images, "dump", "--tree", Long.toString(pid), "--images-dir", images.toString(), "--log-file", "dump.log");
        CriuDumpStatistics dump = CriuStatsImage.readDump(images).orElseThrow(() -> new AssertionError("no stats-dump in " + images));
        criu(images, "restore", "--images-dir", images.toString(), "--restore-detached", "--log-file", "restore.log",
                "--pidfile", images.resolve("restored.pid").toString());
        started.add(Long.parseLong(Files.readString(images.resolve("restored.pid")).strip()));
        CriuRestoreStatistics restore = CriuStatsImage.readRestore(images)
                .orElseThrow(() -> new AssertionError("no stats-restore in " + images));

        System.out.println("CRIU " + dump + "\nCRIU " + restore);
        assertTrue(dump.pagesWritten() > 0, dump::toString);
        assertTrue(dump.pagesScanned() >= dump.pagesWritten(), dump::toString);
        assertTrue(dump.frozenMicros() > 0 && dump.frozenMicros() >= dump.memdumpMicros(), dump::toString);
        assertTrue(dump.frozenMicros() < CRIU_TIMEOUT.toNanos() / 1000, "frozen longer than CRIU ran: " + dump);
        assertEquals(dump.pagesWritten(), restore.pagesRestored(), "every page written is read back");
        assertTrue(restore.restoreMicros() > 0 && restore.restoreMicros() >= restore.forkingMicros(), restore::toString);
    }

    @Test
    void withAPageServerTheStatisticsStayWithTheDumpNotWithThePages() throws Exception {
        Path images = Files.createDirectory(directory.resolve("images"));
        Path pages = Files.createDirectory(directory.resolve("pages"));
        int port = freePort();
        criu(pages, "page-server", "--images-dir", pages.toString(), "--address", "127.0.0.1", "--port", Integer.toString(port),
                "--daemon", "--pidfile", pages.resolve("page-server.pid").toString(), "--log-file", "page-server.log");
        started.add(Long.parseLong(Files.readString(pages.resolve("page-server.pid")).strip()));
        long pid = startSleeper();

        criu(images, "dump", "--tree", Long.toString(pid), "--images-dir", images.toString(), "--log-file", "dump.log",
                "--page-server", "--address", "127.0.0.1", "--port", Integer.toString(port));

        CriuDumpStatistics dump = CriuStatsImage.readDump(images).orElseThrow(() -> new AssertionError("no stats-dump in " + images));
        assertTrue(dump.pagesWritten() > 0, "pages sent to the page server count as written: " + dump);
        assertFalse(Files.exists(pages.resolve(CriuStatsImage.DUMP_FILE)), "the page server keeps no statistics");
    }

    @Test
    void aRestoreThatReleasesPagesAsRestoredLeavesTheImagesHoldingAlmostNoMemory() throws Exception {
        Path images = Files.createDirectory(directory.resolve("images"));
        Path ready = directory.resolve("ready");
        Path program = Files.writeString(directory.resolve("touch-64-mib.py"), "import sys, time\nb = bytearray(64 << 20)\n"
                + "for i in range(0, len(b), 4096): b[i] = 1\nopen(sys.argv[1], 'w').close()\ntime.sleep(600)\n");
        long pid = start("/usr/bin/python3", program.toString(), ready.toString());
        Testbed.await(() -> Files.exists(ready), Duration.ofSeconds(30), () -> "the process did not touch its memory");
        criu(images, "dump", "--tree", Long.toString(pid), "--images-dir", images.toString(), "--log-file", "dump.log");
        long dumped = allocatedBytes(images);
        assertTrue(dumped >= 64 << 20, "the images hold the 64 MiB touched: " + dumped);

        // As the agent restores a diskless migration's copy (the process is not in a container: the host's root).
        long restored = new Criu(criu.toString(), commands, NetworkLock.NFTABLES).restore(new Criu.RestoreSpec(images, Path.of("/"),
                Map.of(), Optional.empty(), CRIU_TIMEOUT, false, List.of(), true));
        started.add(restored);

        long left = allocatedBytes(images);
        System.out.printf("images: %d bytes allocated after the dump, %d after the restore%n", dumped, left);
        assertTrue(left < dumped / 16, "the restore freed the pages it restored: " + left + " of " + dumped + " bytes left");
        assertTrue(Files.exists(Path.of("/proc", Long.toString(restored))), "the restored process is there");
    }

    /** Bytes of disk the directory's files take (not their sizes: a punched hole takes none). */
    private long allocatedBytes(Path directory) throws Exception {
        CommandResult du = commands.run(List.of("du", "--summarize", "--block-size=1", directory.toString()), CRIU_TIMEOUT);
        assertTrue(du.succeeded(), du.toString());
        return Long.parseLong(du.stdout().split("\\s+")[0]);
    }

    /** A process of its own session with nothing shared with this JVM, as CRIU needs to dump it alone. */
    private long startSleeper() throws IOException {
        return start("sleep", "600");
    }

    private long start(String... command) throws IOException {
        List<String> argv = new ArrayList<>(List.of("setsid"));
        argv.addAll(List.of(command));
        Process process = new ProcessBuilder(argv)
                .redirectInput(new File("/dev/null"))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        started.add(process.pid());
        return process.pid();
    }

    private void criu(Path logDirectory, String... arguments) throws CommandException, IOException {
        assertTrue(Files.isExecutable(criu), criu + " is missing: run testbed/criu.sh");
        List<String> command = new ArrayList<>(List.of(criu.toString()));
        command.addAll(List.of(arguments));
        command.add("-v4");
        CommandResult result = commands.run(command, CRIU_TIMEOUT);
        if (!result.succeeded()) {
            throw new AssertionError(String.join(" ", command) + " exited " + result.exitCode() + "; from its log:\n"
                    + Criu.quoteErrors(logDirectory.resolve(arguments[0].equals("page-server") ? "page-server.log"
                            : arguments[0] + ".log")));
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
