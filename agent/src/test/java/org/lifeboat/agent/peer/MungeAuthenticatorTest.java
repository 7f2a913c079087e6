package org.lifeboat.agent.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.agent.process.ProcessCommandRunner;

/**
 * MungeAuthenticator against a real munged of its own (the munge package is all it needs, which
 * test.sh installs): these tests fail, rather than skip, where munged is missing.
 */
@Timeout(60)
class MungeAuthenticatorTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final ProcessCommandRunner COMMANDS = new ProcessCommandRunner();
    private static final byte[] MESSAGE = "{\"version\":1,\"request\":\"restore\",\"kind\":\"call\",\"job\":42}"
            .getBytes(StandardCharsets.UTF_8);

    private static Path directory;
    private static Path socket;
    private static MungeAuthenticator munge;

    @BeforeAll
    static void startMunged() throws Exception {
        Path munged = locate("munged");
        if (munged == null || locate("munge") == null || locate("unmunge") == null) {
            fail("munged, munge and unmunge must be installed (Debian package munge; ./test.sh installs it): "
                    + "these tests run a real munged");
        }
        // Not under JUnit's temporary directory, which is 0700: the user nobody must reach the socket.
        directory = Files.createTempDirectory("lifeboat-munge");
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwxr-xr-x"));
        socket = directory.resolve("munge.sock");
        Path key = directory.resolve("munge.key");
        byte[] keyBytes = new byte[1024];
        new SecureRandom().nextBytes(keyBytes);
        Files.write(key, keyBytes);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("r--------"));
        // --force: munged refuses to run as root without it.
        CommandResult started = COMMANDS.run(List.of(munged.toString(), "--force", "--socket=" + socket, "--key-file=" + key,
                "--pid-file=" + directory.resolve("munged.pid"), "--log-file=" + directory.resolve("munged.log"),
                "--seed-file=" + directory.resolve("munged.seed")), WAIT);
        if (!started.succeeded()) {
            fail("munged did not start: " + started.stderr() + readLog());
        }
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!Files.exists(socket)) {
            if (System.nanoTime() > deadline) {
                fail("munged did not create its socket " + socket + readLog());
            }
            Thread.sleep(20);
        }
        munge = new MungeAuthenticator(socket);
    }

    @AfterAll
    static void stopMunged() throws Exception {
        if (directory == null) {
            return;
        }
        Path pidFile = directory.resolve("munged.pid");
        if (Files.exists(pidFile)) {
            long pid = Long.parseLong(Files.readString(pidFile).strip());
            ProcessHandle.of(pid).ifPresent(munged -> {
                munged.destroy();
                munged.onExit().join();
            });
        }
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(file);
            }
        }
    }

    @Test
    void aSealedMessageVerifies() throws Exception {
        String credential = munge.seal(MESSAGE);

        assertTrue(credential.startsWith("MUNGE:") && credential.endsWith(":"), credential);
        munge.verify(credential, MESSAGE);
    }

    @Test
    void aSecretSealedWithAMessageOpensWithItAndIsNotInTheCredentialsText() throws Exception {
        byte[] secret = new byte[FrameMac.KEY_BYTES];
        new Random(3).nextBytes(secret);

        String credential = munge.seal(MESSAGE, secret);

        assertArrayEquals(secret, munge.open(credential, MESSAGE));
        assertFalse(credential.contains(Base64.getEncoder().encodeToString(secret)), "munged encrypts the payload");
        assertArrayEquals(PeerAuthenticator.NO_SECRET, munge.open(munge.seal(MESSAGE), MESSAGE));
    }

    @Test
    void aMessageChangedByOneByteDoesNotVerify() throws Exception {
        String credential = munge.seal(MESSAGE);
        byte[] changed = MESSAGE.clone();
        changed[changed.length - 3] = '3';

        PeerAuthenticationException error = assertThrows(PeerAuthenticationException.class, () -> munge.verify(credential, changed));

        assertEquals("the credential was made for another message", error.getMessage());
    }

    @Test
    void aReplayedCredentialIsRefusedTheSecondTime() throws Exception {
        String credential = munge.seal(MESSAGE);
        munge.verify(credential, MESSAGE);

        PeerAuthenticationException error = assertThrows(PeerAuthenticationException.class, () -> munge.verify(credential, MESSAGE));

        assertEquals("munge refused the credential: Replayed credential", error.getMessage());
    }

    @Test
    void aCredentialMadeByAnotherUserIsRefused() throws Exception {
        CommandResult made = COMMANDS.run(List.of("runuser", "-u", "nobody", "--", "munge", "--socket", socket.toString(),
                "--string", WireFormat.sha256Hex(MESSAGE)), WAIT);
        assertEquals(0, made.exitCode(), made.stderr());

        PeerAuthenticationException error = assertThrows(PeerAuthenticationException.class,
                () -> munge.verify(made.stdout().strip(), MESSAGE));

        assertEquals("the credential was made by uid 65534, not by root", error.getMessage());
    }

    @Test
    void onlyRootCanDecodeASealedCredentialSoNoUserCanUseItUpFirst() throws Exception {
        String credential = munge.seal(MESSAGE);

        CommandResult stolen = COMMANDS.run(List.of("runuser", "-u", "nobody", "--", "unmunge", "--socket", socket.toString()),
                WAIT, (credential + "\n").getBytes(StandardCharsets.US_ASCII));

        assertTrue(stolen.exitCode() != 0 && stolen.stderr().contains("Unauthorized credential"), stolen.toString());
        munge.verify(credential, MESSAGE);
    }

    @Test
    void aCorruptedCredentialIsRefusedByMunged() throws Exception {
        String credential = munge.seal(MESSAGE);
        int middle = credential.length() / 2;
        char replacement = credential.charAt(middle) == 'A' ? 'B' : 'A';
        String corrupted = credential.substring(0, middle) + replacement + credential.substring(middle + 1);

        PeerAuthenticationException error = assertThrows(PeerAuthenticationException.class, () -> munge.verify(corrupted, MESSAGE));

        assertTrue(error.getMessage().startsWith("munge refused the credential: "), error.getMessage());
    }

    @Test
    void withoutMungedNothingCanBeSealedOrVerifiedAndTheErrorSaysWhy() throws Exception {
        MungeAuthenticator unreachable = new MungeAuthenticator(directory.resolve("no-such.sock"));
        String credential = munge.seal(MESSAGE);

        PeerAuthenticationException seal = assertThrows(PeerAuthenticationException.class, () -> unreachable.seal(MESSAGE));
        PeerAuthenticationException verify = assertThrows(PeerAuthenticationException.class, () -> unreachable.verify(credential, MESSAGE));

        assertTrue(seal.getMessage().contains("no-such.sock"), seal.getMessage());
        assertTrue(verify.getMessage().contains("no-such.sock"), verify.getMessage());
    }

    @Test
    void twoAgentsTalkThroughMunge() throws Exception {
        TestHandler handler = new TestHandler().onCall((request, message) -> WireFormat.JSON.createObjectNode().put("prepared", true));
        PeerServer server = new PeerServer("node2", new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), munge, handler);
        server.start();
        try (CapturedLogs logs = new CapturedLogs()) {
            PeerClient client = new PeerClient(server.boundAddress(), "node1", "node2", munge, WAIT, PageCompression.LZ4);

            ObjectNode reply = client.call("prepare", WireFormat.JSON.createObjectNode().put("job", 42));

            assertTrue(reply.get("prepared").asBoolean());
            assertEquals(List.of("prepare"), handler.requests());
            IOException error = assertThrows(IOException.class,
                    () -> new PeerClient(server.boundAddress(), "node1", "node2", new UnauthenticatedPeers(), WAIT, PageCompression.LZ4)
                            .call("prepare", WireFormat.JSON.createObjectNode()));
            assertTrue(error.getMessage().contains("is not authentic"), error.getMessage());
            assertTrue(logs.warned("not-authenticated: not a MUNGE credential"));
        } finally {
            server.stop();
        }
    }

    /** The program on the PATH or in /usr/sbin (munged's place, not on every user's PATH), or null. */
    private static Path locate(String program) {
        String path = System.getenv().getOrDefault("PATH", "") + File.pathSeparator + "/usr/sbin";
        for (String entry : path.split(File.pathSeparator)) {
            if (!entry.isEmpty() && Files.isExecutable(Path.of(entry, program))) {
                return Path.of(entry, program);
            }
        }
        return null;
    }

    private static String readLog() throws IOException {
        Path log = directory.resolve("munged.log");
        return Files.exists(log) ? "\n" + Files.readString(log) : "";
    }
}
