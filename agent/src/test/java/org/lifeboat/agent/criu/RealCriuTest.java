package org.lifeboat.agent.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.agent.process.CommandRunner;
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
    void aPageServerOnAnOwnerOnlySocketTakesADumpThatRestoresAndNoOtherUserReachesIt() throws Exception {
        Path images = Files.createDirectory(directory.resolve("images"));
        Path pages = Files.createDirectory(directory.resolve("pages"));
        Path socketDirectory = pages.resolve("page-server-socket");
        // Everyone may reach the pages directory: the socket's own directory is the only barrier.
        for (Path open : List.of(directory, pages)) {
            Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        // The way in another user would try while the page server starts: the socket's name.
        List<CommandResult> intrusions = new ArrayList<>();
        CommandRunner intruded = (command, timeout) -> {
            intrusions.add(asNobody("/usr/bin/python3", "-c", "import socket, sys\n"
                    + "s = socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\ns.sendall(b'evil pages')\nprint(s.recv(100))",
                    socketDirectory.resolve("page-server.sock").toString()));
            return commands.run(command, timeout);
        };
        Criu.PageServer server = new Criu(criu.toString(), intruded, Optional.of(withFds()), NetworkLock.NFTABLES).startPageServer(pages, socketDirectory,
                CRIU_TIMEOUT);
        started.add(server.pid());

        assertEquals(1, intrusions.size());
        assertEquals(1, intrusions.get(0).exitCode(), "nobody cannot connect: " + intrusions.get(0));
        assertTrue(intrusions.get(0).stderr().contains("PermissionError"), intrusions.get(0).stderr());
        assertEquals(List.of(), listeningSockets(server.pid()), "the page server listens on nothing");
        long pid = startSleeper();
        try (ServerSocketChannel relay = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            // Stands in for the relay between the agents: CRIU's dump connects to TCP, the page server has the Unix end.
            CompletableFuture<Void> relayed = CompletableFuture.runAsync(() -> relayOnce(relay, server.connection()));
            int port = ((InetSocketAddress) relay.getLocalAddress()).getPort();
            criu(images, "dump", "--tree", Long.toString(pid), "--images-dir", images.toString(), "--log-file", "dump.log",
                    "--page-server", "--address", "127.0.0.1", "--port", Integer.toString(port));
            relayed.get(CRIU_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        }
        Testbed.await(() -> !Files.exists(Path.of("/proc", Long.toString(server.pid()))), Duration.ofSeconds(10),
                () -> "the page server did not exit after the dump");
        try (DirectoryStream<Path> files = Files.newDirectoryStream(images, "*.img")) {
            for (Path file : files) {
                Files.copy(file, pages.resolve(file.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        criu(pages, "restore", "--images-dir", pages.toString(), "--restore-detached", "--log-file", "restore.log",
                "--pidfile", pages.resolve("restored.pid").toString());
        long restored = Long.parseLong(Files.readString(pages.resolve("restored.pid")).strip());
        started.add(restored);
        assertTrue(Files.readString(Path.of("/proc", Long.toString(restored), "cmdline")).startsWith("sleep"),
                "the restored process is the sleeper");
    }

    /** Copies both ways between the one TCP connection the listener takes and the page server's channel, until both end. */
    private static void relayOnce(ServerSocketChannel listener, SocketChannel pageServer) {
        try (SocketChannel dump = listener.accept(); pageServer) {
            CompletableFuture<Void> back = CompletableFuture.runAsync(() -> copy(pageServer, dump));
            copy(dump, pageServer);
            back.get(CRIU_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void copy(SocketChannel from, SocketChannel to) {
        try {
            ByteBuffer buffer = ByteBuffer.allocate(1 << 20);
            while (from.read(buffer) >= 0) {
                buffer.flip();
                while (buffer.hasRemaining()) {
                    to.write(buffer);
                }
                buffer.clear();
            }
            to.shutdownOutput();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The inodes of the listening sockets (TCP, UDP or Unix) the process holds. */
    private static List<String> listeningSockets(long pid) throws IOException {
        List<String> held = new ArrayList<>();
        try (DirectoryStream<Path> descriptors = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "fd"))) {
            for (Path descriptor : descriptors) {
                String target = Files.readSymbolicLink(descriptor).toString();
                if (target.startsWith("socket:[")) {
                    held.add(target.substring("socket:[".length(), target.length() - 1));
                }
            }
        }
        List<String> listening = new ArrayList<>();
        for (String table : List.of("tcp", "tcp6", "udp", "udp6")) {
            for (String line : Files.readAllLines(Path.of("/proc/net", table))) {
                String[] fields = line.trim().split("\\s+");
                if (fields.length > 9 && (fields[3].equals("0A") || table.startsWith("udp")) && held.contains(fields[9])) {
                    listening.add(table + " " + fields[1]);
                }
            }
        }
        for (String line : Files.readAllLines(Path.of("/proc/net/unix"))) {
            String[] fields = line.trim().split("\\s+");
            // Flags 00010000: __SO_ACCEPTCON, a listening socket.
            if (fields.length > 6 && fields[3].equals("00010000") && held.contains(fields[6])) {
                listening.add("unix " + (fields.length > 7 ? fields[7] : "(unnamed)"));
            }
        }
        return listening;
    }

    private CommandResult asNobody(String... command) {
        List<String> argv = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
        argv.addAll(List.of(command));
        try {
            return commands.run(argv, CRIU_TIMEOUT);
        } catch (CommandException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The launcher's helper, built from this checkout (make does nothing when it is up to date). */
    private Path withFds() throws Exception {
        Path launcher = Testbed.locateRepository().resolve("launcher");
        CommandResult make = commands.run(List.of("make", "-s", "-C", launcher.toString(), "lifeboat-with-fds"), CRIU_TIMEOUT);
        assertTrue(make.succeeded(), make.toString());
        return launcher.resolve("lifeboat-with-fds");
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
                Map.of(), Optional.empty(), CRIU_TIMEOUT, false, List.of(), true, Optional.empty()));
        started.add(restored);

        long left = allocatedBytes(images);
        System.out.printf("images: %d bytes allocated after the dump, %d after the restore%n", dumped, left);
        assertTrue(left < dumped / 16, "the restore freed the pages it restored: " + left + " of " + dumped + " bytes left");
        assertTrue(Files.exists(Path.of("/proc", Long.toString(restored))), "the restored process is there");
    }

    @Test
    void anOrdinaryUsersProcessIsDumpedAndRestoredByCriuRunningAsThatUserAndKeepsNoCapability() throws Exception {
        int uid = testUser();
        // Laid out as the agent lays out a move: the images the owner's CRIU writes lie below a directory only
        // root may enter, and the post-dump script where the owner may run it.
        Path shared = Files.createTempDirectory(Path.of("/tmp"), "lifeboat-owner-");
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwx--x--x"));
        Path rootOnly = Files.createDirectory(shared.resolve("dumps"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwx------")));
        Path images = Files.createDirectory(rootOnly.resolve("job7-a1"));
        Files.setPosixFilePermissions(images, PosixFilePermissions.fromString("rwx------"));
        commands.run(List.of("chown", uid + ":" + uid, images.toString()), CRIU_TIMEOUT).requireSuccess();
        // The agent's own post-dump script, run by the owner's CRIU: it must find the control directory named as the
        // images without passing their root-only parent, mark the dump in the owner's marks directory, and obey
        // the decision root already wrote there (commit).
        Path controlRoot = Files.createDirectory(shared.resolve("outgoing"));
        Files.setPosixFilePermissions(controlRoot, PosixFilePermissions.fromString("rwx--x--x"));
        Path script = org.lifeboat.agent.migration.PostDumpHook.install(controlRoot);
        Path control = Files.createDirectory(controlRoot.resolve(images.getFileName()));
        Files.setPosixFilePermissions(control, PosixFilePermissions.fromString("rwx--x--x"));
        Path marks = Files.createDirectory(control.resolve("criu"));
        commands.run(List.of("chown", uid + ":" + uid, marks.toString()), CRIU_TIMEOUT).requireSuccess();
        Files.createFile(control.resolve(".lifeboat-commit"));
        try {
            long pid = start("setpriv", "--reuid=" + uid, "--regid=" + uid, "--init-groups", "sleep", "600");
            Testbed.await(() -> status(pid).contains("Uid:\t" + uid) && status(pid).contains("Name:\tsleep"),
                    Duration.ofSeconds(10), () -> "the test user's process did not start");
            Criu asOwner = new Criu(criu.toString(), commands, Optional.of(withFds()), NetworkLock.NFTABLES);
            Optional<JobOwner> owner = Optional.of(new JobOwner(uid, uid));

            asOwner.dump(new Criu.DumpSpec(pid, images, Map.of(), Optional.empty(), script, Optional.empty(), CRIU_TIMEOUT,
                    false, List.of(), owner));
            Testbed.await(() -> !Files.exists(Path.of("/proc", Long.toString(pid))), Duration.ofSeconds(10),
                    () -> "the committed dump did not end the original");
            long restored = asOwner.restore(new Criu.RestoreSpec(images, Path.of("/"), Map.of(), Optional.empty(), CRIU_TIMEOUT,
                    false, List.of(), true, owner));
            started.add(restored);

            String status = Files.readString(Path.of("/proc", Long.toString(restored), "status"));
            assertTrue(status.contains("Uid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid), status);
            assertTrue(status.contains("Gid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid), status);
            for (String set : List.of("CapInh", "CapPrm", "CapEff", "CapAmb")) {
                assertTrue(status.contains(set + ":\t0000000000000000"), set + " of the restored process: " + status);
            }
            assertEquals(uid, Files.getAttribute(images.resolve("inventory.img"), "unix:uid"), "the owner's CRIU wrote the images");
            assertTrue(Files.exists(marks.resolve(".lifeboat-dumped")), "the owner's script marked the dump");
        } finally {
            commands.run(List.of("rm", "-rf", shared.toString()), CRIU_TIMEOUT);
        }
    }

    private static String status(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "status"));
        } catch (IOException e) {
            return "";
        }
    }

    /** An ordinary user for CRIU to run as, made once on this machine. */
    private int testUser() throws Exception {
        String name = "lifeboat-criu-test";
        CommandResult id = commands.run(List.of("id", "-u", name), CRIU_TIMEOUT);
        if (!id.succeeded()) {
            commands.run(List.of("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name), CRIU_TIMEOUT)
                    .requireSuccess();
            id = commands.run(List.of("id", "-u", name), CRIU_TIMEOUT).requireSuccess();
        }
        return Integer.parseInt(id.stdout().strip());
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
        // In /, as a job is in a directory of its own: not in this test's, which another user may not reach.
        Process process = new ProcessBuilder(argv)
                .directory(new File("/"))
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
