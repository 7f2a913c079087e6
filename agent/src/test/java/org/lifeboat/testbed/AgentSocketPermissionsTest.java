package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Through the real agent socket and the kernel's peer credentials: unprivileged users see their own
 * jobs only and cannot register anything.
 */
@TestbedIntegration
final class AgentSocketPermissionsTest {

    private static final String ALICE = "lbalice";
    private static final String BOB = "lbbob";
    private static final ObjectMapper JSON = new ObjectMapper();

    @BeforeAll
    static void createUsers(Testbed testbed) {
        testbed.ensureUser(ALICE);
        testbed.ensureUser(BOB);
    }

    @Test
    void aUserSeesTheirOwnJobAndAnotherUserIsNotPermitted(Testbed testbed) throws IOException {
        Path work = Files.createTempDirectory("lb-alice");
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxrwxrwx"));
        long jobId = sbatchAs(testbed, ALICE, "--migratable", "--nodelist=node3", "--output=/dev/null",
                "--chdir=" + work, "--wrap", "sleep 300");
        testbed.awaitJobState(jobId, "RUNNING", Duration.ofSeconds(30));
        String socket = testbed.agentSocket("node3").toString();
        Testbed.await(() -> testbed.lifeboat("status", "--socket", socket, "--job", Long.toString(jobId)).succeeded(),
                Duration.ofSeconds(10), () -> "job " + jobId + " never registered");

        CommandResult own = testbed.lifeboatAs(ALICE, "status", "--json", "--socket", socket, "--job", Long.toString(jobId));
        assertEquals(0, own.exitCode(), own::describe);
        JsonNode ownJob = JSON.readTree(own.stdout()).path("jobs").get(0);
        assertEquals(jobId, ownJob.path("job").asLong());
        assertEquals(uidOf(testbed, ALICE), ownJob.path("uid").asInt());

        CommandResult other = testbed.lifeboatAs(BOB, "status", "--socket", socket, "--job", Long.toString(jobId));
        assertEquals(4, other.exitCode(), other::describe);
        assertTrue(other.stderr().contains("not-permitted") && other.stderr().contains("not permitted"), other::describe);

        CommandResult listing = testbed.lifeboatAs(BOB, "status", "--json", "--socket", socket);
        assertEquals(0, listing.exitCode(), listing::describe);
        assertEquals(0, JSON.readTree(listing.stdout()).path("jobs").size(), () -> "bob sees other users' jobs: " + listing.stdout());

        CommandResult root = testbed.lifeboat("status", "--json", "--socket", socket);
        assertTrue(JSON.readTree(root.orThrow().stdout()).path("jobs").size() >= 1, root::describe);
        testbed.run("scancel", Long.toString(jobId)).orThrow();
    }

    @Test
    void anUnprivilegedUserCannotRegisterAJobAndTheRefusalIsLogged(Testbed testbed) throws IOException {
        String socket = testbed.agentSocket("node3").toString();
        String request = "{\"version\":1,\"request\":\"step-start\",\"job\":999999,\"step\":\"batch\",\"uid\":0,"
                + "\"gid\":0,\"restart-count\":0,\"tasks\":1}";
        // A raw client, to send what the lifeboat command never would: a registration, as bob.
        String client = "import socket,sys\n"
                + "s=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\n"
                + "s.sendall(sys.argv[2].encode()+b'\\n')\nprint(s.makefile().readline().strip())\n";
        CommandResult refused = testbed.run(Duration.ofSeconds(30),
                List.of("runuser", "-u", BOB, "--", "/usr/bin/python3", "-c", client, socket, request)).orThrow();

        JsonNode reply = JSON.readTree(refused.stdout());
        assertEquals("error", reply.path("status").asText(), refused::describe);
        assertEquals("not-permitted", reply.path("error").path("code").asText(), refused::describe);
        assertFalse(testbed.lifeboat("status", "--socket", socket, "--job", "999999").succeeded(), "bob's job was registered");
        String log = Files.readString(testbed.runDirectory().resolve("log/agent-node3.log"));
        assertTrue(log.contains("refused step-start from pid") && log.contains("uid " + uidOf(testbed, BOB)),
                "the refusal was not logged");
    }

    private static long sbatchAs(Testbed testbed, String user, String... arguments) {
        List<String> argv = new ArrayList<>(List.of("runuser", "-u", user, "--", "sbatch", "--parsable"));
        argv.addAll(List.of(arguments));
        return Long.parseLong(testbed.run(Duration.ofSeconds(30), argv).orThrow().stdout().strip());
    }

    private static int uidOf(Testbed testbed, String user) {
        return Integer.parseInt(testbed.run("id", "-u", user).orThrow().stdout().strip());
    }
}
