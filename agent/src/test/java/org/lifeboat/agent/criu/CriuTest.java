package org.lifeboat.agent.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.agent.process.CommandRunner;
import org.lifeboat.agent.process.FakeCommandRunner;

class CriuTest {

    private static final Duration TIMEOUT = Duration.ofMinutes(1);
    private static final String BINARY = "/opt/criu/sbin/criu";
    // Every restore starts with the OOM killer's ordinary adjustment, whatever the agent's.
    private static final List<String> CHOOM = List.of("choom", "-n", "0", "--");

    @TempDir
    Path images;

    private final FakeCommandRunner commands = new FakeCommandRunner();
    private final Criu criu = new Criu(BINARY, commands, NetworkLock.NFTABLES);

    @Test
    void probeReportsTheVersionTheCheckAndEachFeature() throws Exception {
        commands.answer(0, "Version: 4.1.1\n", "");
        commands.answer(0, "Looks good.\n", "");
        for (int feature = 0; feature < 4; feature++) {
            commands.answer(0, "", "");
        }

        CriuCapabilities capabilities = Criu.probe(BINARY, commands);

        assertEquals("4.1.1", capabilities.version());
        assertTrue(capabilities.checkPassed());
        assertEquals(4, capabilities.features().size());
        assertEquals(List.of("/opt/criu/sbin/criu", "--version"), commands.commands().get(0));
        assertTrue(commands.commands().stream().anyMatch(command -> command.equals(
                List.of("/opt/criu/sbin/criu", "check", "--feature", "mem_dirty_track"))));
    }

    @Test
    void aMissingFeatureIsReportedAsMissingNotAsAFailure() throws Exception {
        commands.answer(0, "Version: 4.1.1\n", "").answer(0, "", "");
        commands.answer(1, "", "Dirty tracking is OFF").answer(1, "", "").answer(1, "", "").answer(1, "", "");

        CriuCapabilities capabilities = Criu.probe(BINARY, commands);

        assertTrue(capabilities.checkPassed());
        assertFalse(capabilities.has("memory-tracking"));
    }

    @Test
    void anUnusableBinaryIsACriuException() {
        commands.failToRun("No such file or directory");

        CriuException error = assertThrows(CriuException.class, () -> Criu.probe(BINARY, commands));

        assertTrue(error.getMessage().contains("/opt/criu/sbin/criu"), error.getMessage());
    }

    @Test
    void dumpLeavesTheTreeStoppedNamesEveryExternalMountAndUsesThePageServer() throws Exception {
        commands.answer(0, "", "");
        Map<String, String> mounts = new LinkedHashMap<>();
        mounts.put("/usr", "usr");
        mounts.put("/home/alice/run", "chdir");

        criu.dump(new Criu.DumpSpec(4303, images, mounts, Optional.of(new InetSocketAddress("127.0.0.1", 40123)),
                Path.of("/var/lib/lifeboat/criu-post-dump.sh"), Optional.empty(), TIMEOUT));

        List<String> command = commands.commands().get(0);
        assertEquals(List.of("/opt/criu/sbin/criu", "dump", "--tree", "4303", "--images-dir", images.toString(),
                "--action-script", "/var/lib/lifeboat/criu-post-dump.sh", "--file-locks", "--ghost-limit", "268435456",
                "--manage-cgroups=ignore", "--external", "mnt[/usr]:usr", "--external", "mnt[/home/alice/run]:chdir",
                "--page-server", "--address", "127.0.0.1", "--port", "40123", "--log-file", "dump.log", "-v4"), command);
        assertEquals(TIMEOUT, commands.timeouts().get(0));
    }

    @Test
    void anApptainerInstanceHasItsBindsDetectedAndItsOutsideFilesNamedAndHandedBack() throws Exception {
        Files.writeString(images.resolve("restored.pid"), "77");
        commands.answer(0, "", "").answer(0, "", "");
        Criu withHelper = new Criu(BINARY, commands, Optional.of(Path.of("/usr/libexec/lifeboat/lifeboat-with-fds")),
                NetworkLock.NFTABLES);

        withHelper.dump(new Criu.DumpSpec(10, images, Map.of(), Optional.empty(), Path.of("/hook"), Optional.empty(), TIMEOUT,
                true, List.of("file[18:3]", "file[1b:f4c00e]"), Optional.empty()));
        long pid = withHelper.restore(new Criu.RestoreSpec(images, Path.of("/ckpt/roots/m1"), Map.of(), Optional.empty(), TIMEOUT,
                true, List.of(new Criu.InheritedFile("file[18:3]", "/dev/null", "r"),
                        new Criu.InheritedFile("file[1b:f4c00e]", "/root/.apptainer/instances/logs/n1/root/job.out", "a")), true,
                Optional.empty()));

        assertEquals(77, pid);
        String dump = String.join(" ", commands.commands().get(0));
        assertTrue(dump.contains("--external mnt[]:m --external file[18:3] --external file[1b:f4c00e]"), dump);
        List<String> restore = commands.commands().get(1);
        assertEquals(withChoom("/usr/libexec/lifeboat/lifeboat-with-fds", "10:r:/dev/null",
                "11:A:/root/.apptainer/instances/logs/n1/root/job.out", "--", "/opt/criu/sbin/criu", "restore"), restore.subList(0, 10));
        String restoreLine = String.join(" ", restore);
        assertTrue(restoreLine.contains("--ext-mount-map auto --inherit-fd fd[10]:file[18:3] --inherit-fd fd[11]:file[1b:f4c00e]"),
                restoreLine);
    }

    @Test
    void anOrdinaryUsersInstanceHasItsOutsideFilesOpenedAsThatUserNotAsRoot() throws Exception {
        Files.writeString(images.resolve("restored.pid"), "78");
        commands.answer(0, "", "");
        Criu withHelper = new Criu(BINARY, commands, Optional.of(Path.of("/usr/libexec/lifeboat/lifeboat-with-fds")),
                NetworkLock.NFTABLES);

        long pid = withHelper.restore(new Criu.RestoreSpec(images, Path.of("/ckpt/roots/m1"), Map.of(), Optional.empty(), TIMEOUT,
                true, List.of(new Criu.InheritedFile("file[18:3]", "/usr/libexec/apptainer/bin/starter", "r"),
                        new Criu.InheritedFile("file[1b:f4c00e]", "/home/u/.apptainer/instances/logs/n1/u/job.out", "a")), true,
                Optional.of(new JobOwner(1042, 1043))));

        assertEquals(78, pid);
        // Root opens the image directory alone; the files are opened after setpriv, by the owner, with their directories.
        List<String> expected = withChoom("/usr/libexec/lifeboat/lifeboat-with-fds", "100:d:" + images, "--", "setpriv",
                "--reuid=1042", "--regid=1043", "--init-groups", "--inh-caps=-all,+sys_admin,+sys_chroot,+setpcap",
                "--ambient-caps=-all,+sys_admin,+sys_chroot,+setpcap", "--",
                "/usr/libexec/lifeboat/lifeboat-with-fds", "10:r:/usr/libexec/apptainer/bin/starter",
                "11:A:/home/u/.apptainer/instances/logs/n1/u/job.out", "--", BINARY, "restore");
        List<String> restore = commands.commands().get(0);
        assertEquals(expected, restore.subList(0, expected.size()));
        String restoreLine = String.join(" ", restore);
        assertTrue(restoreLine.contains("--inherit-fd fd[10]:file[18:3] --inherit-fd fd[11]:file[1b:f4c00e]"), restoreLine);
        assertTrue(restoreLine.contains("--pidfile /proc/self/fd/100/restored.pid"), restoreLine);
        assertTrue(restore.contains("--unprivileged"), restoreLine);
    }

    @Test
    void anOrdinaryUsersJobIsDumpedAndRestoredByCriuRunningAsThatUserWithThreeCapabilities() throws Exception {
        Files.writeString(images.resolve("restored.pid"), "88");
        commands.answer(0, "", "").answer(0, "", "");
        Criu withHelper = new Criu(BINARY, commands, Optional.of(Path.of("/usr/libexec/lifeboat/lifeboat-with-fds")),
                NetworkLock.NFTABLES);
        Optional<JobOwner> owner = Optional.of(new JobOwner(1042, 1043));

        withHelper.dump(new Criu.DumpSpec(10, images, Map.of(), Optional.empty(), Path.of("/hook"), Optional.empty(), TIMEOUT,
                false, List.of(), owner));
        long pid = withHelper.restore(new Criu.RestoreSpec(images, Path.of("/ckpt/roots/m1/root"), Map.of(), Optional.empty(),
                TIMEOUT, false, List.of(), true, owner));

        assertEquals(88, pid);
        List<String> asOwner = List.of("/usr/libexec/lifeboat/lifeboat-with-fds", "100:d:" + images, "--", "setpriv",
                "--reuid=1042", "--regid=1043", "--init-groups", "--inh-caps=-all,+sys_admin,+sys_chroot,+setpcap",
                "--ambient-caps=-all,+sys_admin,+sys_chroot,+setpcap", "--", BINARY);
        List<String> dump = commands.commands().get(0);
        assertEquals(asOwner, dump.subList(0, asOwner.size()));
        assertTrue(String.join(" ", dump).contains("--images-dir /proc/self/fd/100 "), dump.toString());
        assertTrue(dump.contains("--unprivileged"), dump.toString());
        List<String> restore = commands.commands().get(1);
        assertEquals(withChoom(asOwner.toArray(String[]::new)), restore.subList(0, CHOOM.size() + asOwner.size()));
        assertTrue(String.join(" ", restore).contains("--pidfile /proc/self/fd/100/restored.pid"), restore.toString());
    }

    @Test
    void aJobWithItsOwnNetworkAlsoKeepsNetAdminForTcpRepairAndTheLock() throws Exception {
        commands.answer(0, "", "");
        Criu withHelper = new Criu(BINARY, commands, Optional.of(Path.of("/usr/libexec/lifeboat/lifeboat-with-fds")),
                NetworkLock.NFTABLES);

        withHelper.dump(new Criu.DumpSpec(10, images, Map.of(), Optional.empty(), Path.of("/hook"),
                Optional.of(Path.of("/run/netns/job7")), TIMEOUT, false, List.of(), Optional.of(new JobOwner(1042, 1042))));

        String dump = String.join(" ", commands.commands().get(0));
        assertTrue(dump.contains("-- nsenter --net=/run/netns/job7 -- setpriv "), dump);
        assertTrue(dump.contains("--ambient-caps=-all,+sys_admin,+sys_chroot,+setpcap,+net_admin "), dump);
    }

    @Test
    void aUsersContainerWithItsOwnIpcNamespaceIsRestoredByRootWithItsFilesOpenedAsTheUser() throws Exception {
        Files.writeString(images.resolve("restored.pid"), "88");
        Files.createFile(images.resolve("ipcns-var-11.img"));
        commands.answer(0, "", "");
        Criu withHelper = new Criu(BINARY, commands, Optional.of(Path.of("/usr/libexec/lifeboat/lifeboat-with-fds")),
                NetworkLock.NFTABLES);

        withHelper.restore(new Criu.RestoreSpec(images, Path.of("/ckpt/roots/m1/root"), Map.of(), Optional.empty(), TIMEOUT,
                true, List.of(new Criu.InheritedFile("file[18:3]", "/home/u/.apptainer/x.out", "a")), true,
                Optional.of(new JobOwner(1042, 1043))));

        List<String> restore = commands.commands().get(0);
        assertEquals(withChoom("/usr/libexec/lifeboat/lifeboat-with-fds", "--as=1042:1043", "10:A:/home/u/.apptainer/x.out", "--",
                BINARY, "restore", "--images-dir", images.toString()), restore.subList(0, 12));
        assertFalse(restore.contains("setpriv") || restore.contains("--unprivileged"), restore.toString());
    }

    @Test
    void outsideFilesCannotBeRestoredWithoutTheHelper() {
        CriuException error = assertThrows(CriuException.class, () -> criu.restore(new Criu.RestoreSpec(images, Path.of("/r"),
                Map.of(), Optional.empty(), TIMEOUT, true, List.of(new Criu.InheritedFile("file[18:3]", "/dev/null", "r")), false,
                Optional.empty())));

        assertTrue(error.getMessage().contains("lifeboat-with-fds"), error.getMessage());
        assertEquals(List.of(), commands.commands());
    }

    @Test
    void aJobWithItsOwnNetworkIsDumpedAndRestoredInsideItWithItsConnections() throws Exception {
        Files.writeString(images.resolve("restored.pid"), "9");
        commands.answer(0, "", "").answer(0, "", "");
        Optional<Path> namespace = Optional.of(Path.of("/run/netns/lbj-42"));

        criu.dump(new Criu.DumpSpec(10, images, Map.of(), Optional.empty(), Path.of("/hook"), namespace, TIMEOUT));
        criu.restore(new Criu.RestoreSpec(images, Path.of("/root"), Map.of(), namespace, TIMEOUT));

        List<String> dump = commands.commands().get(0);
        assertEquals(List.of("nsenter", "--net=/run/netns/lbj-42", "--", "/opt/criu/sbin/criu", "dump"), dump.subList(0, 5));
        assertTrue(dump.containsAll(List.of("--tcp-established", "--network-lock", "nftables")), dump.toString());
        List<String> restore = commands.commands().get(1);
        assertEquals(withChoom("nsenter", "--net=/run/netns/lbj-42", "--", "/opt/criu/sbin/criu", "restore"), restore.subList(0, 9));
        assertTrue(restore.contains("--tcp-established") && !restore.contains("--network-lock"), restore.toString());
    }

    @Test
    void aJobWithItsOwnNetworkSendsItsPagesThroughAConnectionRootMadeOnTheNodesLoopback() throws Exception {
        commands.answer(0, "", "");
        Criu withHelper = new Criu(BINARY, commands, Optional.of(Path.of("/usr/libexec/lifeboat/lifeboat-with-fds")),
                NetworkLock.NFTABLES);

        withHelper.dump(new Criu.DumpSpec(10, images, Map.of(), Optional.of(new InetSocketAddress("127.0.0.1", 40123)),
                Path.of("/hook"), Optional.of(Path.of("/proc/10/ns/net")), TIMEOUT));

        List<String> dump = commands.commands().get(0);
        // Connected before nsenter: inside the job's namespace 127.0.0.1 is the job's own loopback.
        assertEquals(List.of("/usr/libexec/lifeboat/lifeboat-with-fds", "10:t:40123", "--", "nsenter", "--net=/proc/10/ns/net",
                "--", "/opt/criu/sbin/criu", "dump"), dump.subList(0, 8));
        int pageServer = dump.indexOf("--page-server");
        assertEquals(List.of("--page-server", "--ps-socket", "10"), dump.subList(pageServer, pageServer + 3));
        assertTrue(!dump.contains("--address") && !dump.contains("--port"), dump.toString());
    }

    @Test
    void aPostCopyDumpServesItsMemoryOnAConnectionRootMadeAndNeverListensOnAPort() throws Exception {
        commands.answer(0, "", "");
        Criu withHelper = new Criu(BINARY, commands, Optional.of(Path.of("/usr/libexec/lifeboat/lifeboat-with-fds")),
                NetworkLock.NFTABLES);

        withHelper.dump(new Criu.DumpSpec(10, images, Map.of(), Optional.of(new InetSocketAddress("127.0.0.1", 40123)),
                Path.of("/hook"), Optional.empty(), TIMEOUT, false, List.of(), Optional.of(new JobOwner(1000, 1000)), true));

        List<String> dump = commands.commands().get(0);
        assertEquals(List.of("/usr/libexec/lifeboat/lifeboat-with-fds", "100:d:" + images, "10:t:40123", "--"), dump.subList(0, 4));
        int lazy = dump.indexOf("--lazy-pages");
        assertEquals(List.of("--lazy-pages", "--ps-socket", "10"), dump.subList(lazy, lazy + 3));
        assertTrue(!dump.contains("--page-server") && !dump.contains("--address") && !dump.contains("--port"),
                () -> "a lazy dump given --page-server would send its pages away at once; with a port it would listen: " + dump);
    }

    @Test
    void aPostCopyRestoreRunsAsRootWithLazyPagesAndFreesNoPageOfTheImages() throws Exception {
        Files.writeString(images.resolve("restored.pid"), "79");
        commands.answer(0, "", "");

        criu.restore(new Criu.RestoreSpec(images, Path.of("/r"), Map.of(), Optional.empty(), TIMEOUT, false, List.of(), false,
                Optional.of(new JobOwner(1000, 1000)), true));

        List<String> restore = commands.commands().get(0);
        assertFalse(restore.contains("setpriv"), () -> "CRIU gives an --unprivileged run no userfaultfd: " + restore);
        assertFalse(restore.contains("--unprivileged"), restore::toString);
        assertTrue(restore.contains("--lazy-pages") && !restore.contains("--auto-dedup"), restore::toString);
    }

    @Test
    void theLazyPagesDaemonRunsUnderItsGuardWithAConnectionToAnOwnerOnlySocket() throws Exception {
        Path socketDirectory = images.resolve("lazy-pages-socket");
        List<List<String>> run = new ArrayList<>();
        // As the guard, lifeboat-with-fds and CRIU do: connect to the socket named after "10:u:".
        CommandRunner guarded = (command, timeout) -> {
            run.add(command);
            try {
                SocketChannel criuEnd = SocketChannel.open(UnixDomainSocketAddress.of(command.get(5).substring("10:u:".length())));
                criuEnd.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return new CommandResult(command, 0, "", "");
        };
        Criu withHelper = new Criu("/opt/criu/sbin/criu", guarded, Optional.of(Path.of("/usr/libexec/lifeboat/lifeboat-with-fds")),
                NetworkLock.NFTABLES);

        try (SocketChannel connection = withHelper.startLazyPages(images, socketDirectory, Path.of("/ckpt/incoming/m1.lazy-status"),
                Path.of("/ckpt/incoming/m1.restored-pid"), TIMEOUT)) {
            assertTrue(connection.isConnected());
        }

        assertEquals(List.of("/usr/libexec/lifeboat/lifeboat-lazy-guard", "/ckpt/incoming/m1.lazy-status",
                "/ckpt/incoming/m1.restored-pid", "--", "/usr/libexec/lifeboat/lifeboat-with-fds",
                "10:u:" + socketDirectory.resolve("page-server.sock"), "--", "/opt/criu/sbin/criu", "lazy-pages", "--page-server",
                "--images-dir", images.toString(), "--ps-socket", "10", "--status-fd", "3", "--log-file", "lazy-pages.log", "-v4"),
                run.get(0));
        assertFalse(Files.exists(socketDirectory), "the socket and its directory are gone once connected");
    }

    @Test
    void aNodeWhoseCriuHasNoNftablesLockSilencesTheJobsNetworkWithIptables() throws Exception {
        commands.answer(0, "", "");
        Criu withoutNftables = new Criu(BINARY, commands, NetworkLock.IPTABLES);

        withoutNftables.dump(new Criu.DumpSpec(10, images, Map.of(), Optional.empty(), Path.of("/hook"),
                Optional.of(Path.of("/run/netns/lbj-42")), TIMEOUT));

        String dump = String.join(" ", commands.commands().get(0));
        assertTrue(dump.contains("--tcp-established --network-lock iptables"), dump);
    }

    @Test
    void aFailedDumpQuotesTheErrorLinesOfItsLogButNotTheHarmlessRlimitOne() throws Exception {
        Files.write(images.resolve("dump.log"), List.of(
                "(00.001) Error (criu/util.c:1) rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted",
                "(00.010) Dumping task 4303",
                "(00.020) Error (criu/files-reg.c:1) Can't lookup mount=24 for fd=0 path=/dev/null",
                "(00.021) Dumping finished with error"));
        commands.answer(1, "", "");

        CriuException error = assertThrows(CriuException.class,
                () -> criu.dump(new Criu.DumpSpec(4303, images, Map.of(), Optional.empty(), Path.of("/hook"), Optional.empty(), TIMEOUT)));

        assertTrue(error.getMessage().contains("failed with exit code 1"), error.getMessage());
        assertTrue(error.getMessage().contains("Can't lookup mount=24 for fd=0 path=/dev/null"), error.getMessage());
        assertTrue(error.getMessage().contains("Dumping finished with error"), error.getMessage());
        assertFalse(error.getMessage().contains("RLIMIT_NOFILE"), error.getMessage());
    }

    @Test
    void restoreRunsWithTheOrdinaryOomScoreDetachesOntoTheRootAndReturnsThePidFromItsPidFile() throws Exception {
        Files.writeString(images.resolve("restored.pid"), "5120\n");
        commands.answer(0, "", "");

        long pid = criu.restore(new Criu.RestoreSpec(images, Path.of("/ckpt/roots/m1"), Map.of("usr", "/usr"), Optional.empty(),
                TIMEOUT));

        assertEquals(5120, pid);
        assertEquals(withChoom("/opt/criu/sbin/criu", "restore", "--images-dir", images.toString(), "--restore-detached",
                "--root", "/ckpt/roots/m1", "--pidfile", images.resolve("restored.pid").toString(), "--leave-stopped", "--file-locks",
                "--manage-cgroups=ignore", "--external", "mnt[usr]:/usr", "--log-file", "restore.log", "-v4"), commands.commands().get(0));
    }

    @Test
    void aRestoreOfACopyFreesEachPageOfTheImagesAsItIsRestoredAndAnyOtherKeepsThem() throws Exception {
        Files.writeString(images.resolve("restored.pid"), "5");
        commands.answer(0, "", "").answer(0, "", "");

        criu.restore(new Criu.RestoreSpec(images, Path.of("/r"), Map.of(), Optional.empty(), TIMEOUT, false, List.of(), true,
                Optional.empty()));
        criu.restore(new Criu.RestoreSpec(images, Path.of("/r"), Map.of(), Optional.empty(), TIMEOUT));

        assertTrue(commands.commands().get(0).contains("--auto-dedup"), commands.commands().get(0).toString());
        assertFalse(commands.commands().get(1).contains("--auto-dedup"), commands.commands().get(1).toString());
    }

    @Test
    void aRestoreWithoutAPidFileIsAnError() {
        commands.answer(0, "", "");

        CriuException error = assertThrows(CriuException.class,
                () -> criu.restore(new Criu.RestoreSpec(images, Path.of("/r"), Map.of(), Optional.empty(), TIMEOUT)));

        assertTrue(error.getMessage().contains("no usable pid file"), error.getMessage());
    }

    @Test
    void thePageServerServesAConnectionToAnOwnerOnlySocketAndListensOnNothing() throws Exception {
        Path socketDirectory = images.resolve("page-server-socket");
        List<List<String>> run = new ArrayList<>();
        List<Set<PosixFilePermission>> modes = new ArrayList<>();
        // As lifeboat-with-fds and CRIU do: connect to the socket named after "10:u:", write the pid file.
        CommandRunner helper = (command, timeout) -> {
            run.add(command);
            try {
                modes.add(Files.getPosixFilePermissions(socketDirectory));
                SocketChannel criuEnd = SocketChannel.open(UnixDomainSocketAddress.of(command.get(1).substring("10:u:".length())));
                criuEnd.write(ByteBuffer.wrap("page-server".getBytes(StandardCharsets.US_ASCII)));
                criuEnd.close();
                Files.writeString(images.resolve("page-server.pid"), "777");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return new CommandResult(command, 0, "", "");
        };
        Criu withHelper = new Criu("/opt/criu/sbin/criu", helper, Optional.of(Path.of("/usr/libexec/lifeboat/lifeboat-with-fds")), NetworkLock.NFTABLES);

        Criu.PageServer server = withHelper.startPageServer(images, socketDirectory, TIMEOUT);

        try (SocketChannel connection = server.connection()) {
            assertEquals(777, server.pid());
            assertEquals(List.of("/usr/libexec/lifeboat/lifeboat-with-fds", "10:u:" + socketDirectory.resolve("page-server.sock"),
                    "--", "/opt/criu/sbin/criu", "page-server", "--images-dir", images.toString(), "--ps-socket", "10",
                    "--daemon", "--pidfile", images.resolve("page-server.pid").toString(), "--log-file", "page-server.log",
                    "-v4"), run.get(0));
            assertEquals(PosixFilePermissions.fromString("rwx------"), modes.get(0), "only root may enter the socket's directory");
            assertEquals("page-server", new String(Channels.newInputStream(connection).readAllBytes(), StandardCharsets.US_ASCII));
            assertFalse(Files.exists(socketDirectory), "the socket and its directory are gone once connected");
        }
    }

    @Test
    void aPageServerThatNeverConnectedIsAnErrorAndLeavesNoSocketBehind() throws Exception {
        Path socketDirectory = images.resolve("page-server-socket");
        commands.answer(0, "", "");
        Criu withHelper = new Criu("/opt/criu/sbin/criu", commands, Optional.of(Path.of("/usr/libexec/lifeboat/lifeboat-with-fds")), NetworkLock.NFTABLES);

        CriuException error = assertThrows(CriuException.class, () -> withHelper.startPageServer(images, socketDirectory, TIMEOUT));

        assertTrue(error.getMessage().contains("nothing connected to " + socketDirectory.resolve("page-server.sock")), error.getMessage());
        assertFalse(Files.exists(socketDirectory));
    }

    @Test
    void aPageServerNeedsLifeboatWithFds() {
        CriuException error = assertThrows(CriuException.class,
                () -> criu.startPageServer(images, images.resolve("page-server-socket"), TIMEOUT));

        assertEquals("a page server needs lifeboat-with-fds", error.getMessage());
        assertTrue(commands.commands().isEmpty());
    }

    /** A restore's command line: choom first, then {@code command}. */
    private static List<String> withChoom(String... command) {
        List<String> line = new ArrayList<>(CHOOM);
        line.addAll(List.of(command));
        return line;
    }
}
