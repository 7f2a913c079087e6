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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A job with its own address (a network namespace with a macvlan on its node's interface) keeps
 * its address and an established TCP connection to a server on another host across a migration:
 * the server sees one connection and an unbroken counter. The address is either one an ordinary
 * user's job got from its node's pool (--migratable=net, lifeboat-run --network=job) or one a
 * root batch script set up itself (lifeboat-run --netns).
 */
@TestbedIntegration
final class NetworkPersistenceTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SERVER_HOST = "lb-outside";
    private static final String SERVER_ADDRESS = "10.241.0.200";
    private static final int SERVER_PORT = 7000;

    private Path work;
    private Process server;
    // Connections (ADDRESS:PORT) already attributed to a job by awaitConnection.
    private final List<String> claimed = new ArrayList<>();

    @BeforeEach
    void startServerOnAnotherHost(Testbed testbed) throws IOException {
        work = Files.createTempDirectory(testbed.runDirectory().resolve("shared"), "tcp-");
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
        testbed.run("ip", "netns", "add", SERVER_HOST).orThrow();
        testbed.run("ip", "link", "add", "lbv-outside", "type", "veth", "peer", "name", "eth0", "netns", SERVER_HOST).orThrow();
        testbed.run("ip", "link", "set", "lbv-outside", "master", "lbbr0", "up").orThrow();
        testbed.run("ip", "-n", SERVER_HOST, "addr", "add", SERVER_ADDRESS + "/24", "dev", "eth0").orThrow();
        testbed.run("ip", "-n", SERVER_HOST, "link", "set", "eth0", "up").orThrow();
        testbed.run("ip", "-n", SERVER_HOST, "link", "set", "lo", "up").orThrow();
        Files.writeString(work.resolve("server.py"), String.join("\n",
                "import socket, sys, threading",
                "listener = socket.socket()",
                "listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
                "listener.bind((sys.argv[1], int(sys.argv[2])))",
                "listener.listen(8)",
                "log = open(sys.argv[3], 'a', buffering=1)",
                "lock = threading.Lock()",
                "def serve(connection, peer):",
                "    for line in connection.makefile():",
                "        with lock: log.write('%s %s' % (peer[0], line))",
                "    with lock: log.write('closed %s:%d\\n' % peer)",
                "while True:",
                "    connection, peer = listener.accept()",
                "    with lock: log.write('accept %s:%d\\n' % peer)",
                "    threading.Thread(target=serve, args=(connection, peer), daemon=True).start()",
                ""));
        Files.writeString(work.resolve("client.py"), String.join("\n",
                "import socket, sys, time",
                "connection = socket.create_connection((sys.argv[1], int(sys.argv[2])))",
                "count = 0",
                "while True:",
                "    count += 1",
                "    connection.sendall(b'%d\\n' % count)",
                "    time.sleep(0.1)",
                ""));
        server = new ProcessBuilder("nsenter", "--net=/run/netns/" + SERVER_HOST, "--", "/usr/bin/python3", "-u",
                work.resolve("server.py").toString(), SERVER_ADDRESS, Integer.toString(SERVER_PORT),
                work.resolve("server.log").toString()).redirectErrorStream(true)
                .redirectOutput(work.resolve("server.out").toFile()).start();
    }

    @AfterEach
    void stopServer(Testbed testbed) {
        server.destroyForcibly();
        testbed.run("ip", "netns", "delete", SERVER_HOST);
        testbed.run("ip", "link", "delete", "lbv-outside");
    }

    @Test
    void anEstablishedConnectionSurvivesTheMoveAndTheServerSeesNoReconnect(Testbed testbed) throws Exception {
        long jobId = submitClient(testbed, "node1", "10.241.0.101", "02:00:0a:f1:00:65");
        awaitCounting("10.241.0.101", 10);

        migrate(testbed, jobId);

        assertConnectionCarriedOn(testbed, jobId, "10.241.0.101");
    }

    @Test
    void anOrdinaryUsersJobGetsAnAddressOfItsOwnThatMovesWithItAndIsGivenBackAtItsEnd(Testbed testbed) throws Exception {
        Path directory = work.resolve("alice");
        Files.createDirectory(directory);
        testbed.run("chown", Testbed.JOB_USER + ":", directory.toString()).orThrow();
        long first = submitUserClient(testbed, directory.resolve("first"));
        long second = submitUserClient(testbed, directory.resolve("second"));
        String firstAddress = awaitConnection(first);
        String secondAddress = awaitConnection(second);
        assertTrue(firstAddress.startsWith("10.241.0.11"), "not from node1's range: " + firstAddress);
        assertFalse(firstAddress.equals(secondAddress), "two jobs hold " + firstAddress);
        awaitCounting(firstAddress, 10);

        migrate(testbed, first);

        String namespace = "lifeboat-job-" + first + "-node1";
        int atMove = received(firstAddress).size();
        awaitCounting(firstAddress, atMove + 20);
        assertOneUnbrokenConnection(firstAddress);
        assertEquals(netnsInode(Path.of("/run/netns/" + namespace)), netnsOf(restoredInit(testbed, "node2", first)),
                "the restored job is not in its rebuilt namespace");
        assertEquals("node2", testbed.job(first).get("NodeList"));

        // Its end on node2 removes the namespace there; its address is free for node1's next job.
        testbed.run("scancel", Long.toString(first), Long.toString(second)).orThrow();
        testbed.awaitJobState(first, "CANCELLED", Duration.ofSeconds(30));
        Testbed.await(() -> !Files.exists(Path.of("/run/netns/" + namespace)), Duration.ofSeconds(30),
                () -> namespace + " outlived its job");
        long third = submitUserClient(testbed, directory.resolve("third"));
        String thirdAddress = awaitConnection(third);
        assertTrue(thirdAddress.equals(firstAddress) || thirdAddress.equals(secondAddress),
                () -> "job " + third + " got " + thirdAddress + ", not an address given back (" + firstAddress + ", " + secondAddress + ")");
        testbed.run("scancel", Long.toString(third)).orThrow();
        testbed.awaitJobState(third, "CANCELLED", Duration.ofSeconds(30));
    }

    @Test
    void aUserJobAskingForANetworkWithoutLifeboatRunOnItIsToldWhy(Testbed testbed) throws Exception {
        Path directory = work.resolve("bob");
        Files.createDirectory(directory);
        testbed.run("chown", Testbed.JOB_USER + ":", directory.toString()).orThrow();
        // Asked of a job that did not ask for one: lifeboat-run refuses and says what to do.
        long jobId = testbed.sbatchAs(Testbed.JOB_USER, "--migratable", "--nodelist=node1", "--output=" + directory.resolve("slurm.out"),
                "--chdir=" + directory, "--wrap", "exec " + testbed.userBinary("lifeboat-run") + " --network=job -- /bin/true");
        testbed.awaitJobState(jobId, "FAILED", Duration.ofSeconds(30));
        String output = read(directory.resolve("slurm.out"));
        assertTrue(output.contains("--migratable=net"), () -> "lifeboat-run did not say how to get a network:\n" + output);
        // And --migratable takes no other value: the submission fails, saying so.
        CommandResult bogus = testbed.run("runuser", "-u", Testbed.JOB_USER, "--", "sbatch", "--migratable=host", "--output=/dev/null",
                "--chdir=" + directory, "--wrap", "true");
        assertFalse(bogus.succeeded(), bogus::describe);
        assertTrue(bogus.stderr().contains("--migratable=host: the only value is net"), bogus::describe);
    }

    @Test
    void twoJobsWithTheirOwnAddressesMoveToTheSameNodeWithoutClashing(Testbed testbed) throws Exception {
        long first = submitClient(testbed, "node1", "10.241.0.101", "02:00:0a:f1:00:65");
        long second = submitClient(testbed, "node3", "10.241.0.102", "02:00:0a:f1:00:66");
        awaitCounting("10.241.0.101", 10);
        awaitCounting("10.241.0.102", 10);

        migrate(testbed, first);
        migrate(testbed, second, "node3");

        assertConnectionCarriedOn(testbed, first, "10.241.0.101");
        assertConnectionCarriedOn(testbed, second, "10.241.0.102");
    }

    @Test
    void aFailedRestoreGivesTheJobItsAddressAndConnectionBackOnItsNode(Testbed testbed) throws Exception {
        long jobId = submitClient(testbed, "node1", "10.241.0.103", "02:00:0a:f1:00:67");
        awaitCounting("10.241.0.103", 10);
        Path override = testbed.runDirectory().resolve("nodes/node2/agent.override.yaml");
        String config = Files.readString(testbed.runDirectory().resolve("nodes/node2/agent.yaml"));
        Files.writeString(override, config.replaceFirst("criu-path: .*", "criu-path: " + MigrationRollbackTest.failingRestoreCriu(testbed)));
        CommandResult migrate;
        try {
            testbed.restartAgent("node2");
            migrate = testbed.lifeboat("migrate", Long.toString(jobId), "--to", "node2", "--json",
                    "--socket", testbed.agentSocket("node1").toString());
        } finally {
            Files.delete(override);
            testbed.restartAgent("node2");
        }

        assertEquals(5, migrate.exitCode(), migrate::describe);
        assertTrue(migrate.stdout().contains("Error (injected): this restore fails"), migrate::describe);
        int atRollback = received("10.241.0.103").size();
        awaitCounting("10.241.0.103", atRollback + 20);
        String log = read(work.resolve("server.log"));
        assertEquals(1, log.lines().filter(line -> line.startsWith("accept 10.241.0.103:")).count(),
                () -> "the server saw a reconnect:\n" + log);
        assertFalse(log.contains("closed 10.241.0.103:"), () -> "the connection was closed:\n" + log);
        List<Long> numbers = received("10.241.0.103");
        for (int i = 0; i < numbers.size(); i++) {
            assertEquals(i + 1L, numbers.get(i), "the counter broke at " + (i + 1) + ": " + numbers);
        }
        assertTrue(Files.exists(Path.of("/run/netns/lbj-" + jobId)), "the job's namespace lost its name on node1");
        assertEquals("RUNNING", testbed.jobState(jobId));
        testbed.run("scancel", Long.toString(jobId)).orThrow();
        testbed.awaitJobState(jobId, "CANCELLED", Duration.ofSeconds(30));
        testbed.run("ip", "netns", "delete", "lbj-" + jobId);
    }

    private void migrate(Testbed testbed, long jobId) throws IOException {
        migrate(testbed, jobId, "node1");
    }

    private void migrate(Testbed testbed, long jobId, String from) throws IOException {
        CommandResult migrate = testbed.lifeboat("migrate", Long.toString(jobId), "--to", "node2", "--json",
                "--socket", testbed.agentSocket(from).toString());
        assertEquals(0, migrate.exitCode(), migrate::describe);
        JsonNode report = JSON.readTree(migrate.stdout());
        assertEquals("migrated", report.path("outcome").asText(), migrate::describe);
        System.out.println("TCP job " + jobId + " migrated, frozen " + report.path("downtime-millis") + " ms: "
                + report.path("phase-millis"));
    }

    private void awaitCounting(String address, int count) {
        Testbed.await(() -> received(address).size() >= count, Duration.ofSeconds(60),
                () -> "the client at " + address + " never got going: " + read(work.resolve("server.log")));
    }

    /** The server saw one connection from the address, never closed, and 1, 2, 3, ... on it, still growing. */
    private void assertConnectionCarriedOn(Testbed testbed, long jobId, String address) throws IOException {
        int atMove = received(address).size();
        awaitCounting(address, atMove + 20);
        assertOneUnbrokenConnection(address);
        long restoredInit = restoredInit(testbed, "node2", jobId);
        assertEquals(netnsInode(Path.of("/run/netns/lbj-" + jobId)), netnsOf(restoredInit),
                "the restored job is not in its rebuilt namespace");
        testbed.run("kill", "-KILL", Long.toString(restoredInit)).orThrow();
        testbed.run("ip", "netns", "delete", "lbj-" + jobId);
    }

    /** An ordinary user's client on node1 with an address from node1's pool; its output in the directory. */
    private long submitUserClient(Testbed testbed, Path directory) {
        testbed.run("runuser", "-u", Testbed.JOB_USER, "--", "mkdir", directory.toString()).orThrow();
        // Inside the container only the working directory (and --bind's) is there: the client comes along.
        testbed.run("runuser", "-u", Testbed.JOB_USER, "--", "cp", work.resolve("client.py").toString(), directory.toString()).orThrow();
        long jobId = testbed.sbatchAs(Testbed.JOB_USER, "--migratable=net", "--nodelist=node1",
                "--output=" + directory.resolve("slurm.out"), "--chdir=" + directory, "--wrap",
                "exec " + testbed.userBinary("lifeboat-run") + " --network=job --stdout " + directory.resolve("client.out")
                        + " --stderr " + directory.resolve("client.err") + " -- /usr/bin/python3 -u " + directory.resolve("client.py") + " "
                        + SERVER_ADDRESS + " " + SERVER_PORT);
        testbed.awaitJobState(jobId, "RUNNING", Duration.ofSeconds(30));
        return jobId;
    }

    /** The address the job's client connected from, as the server saw it. */
    private String awaitConnection(long jobId) {
        String[] address = new String[1];
        Testbed.await(() -> {
            List<String> accepted = read(work.resolve("server.log")).lines().filter(line -> line.startsWith("accept "))
                    .map(line -> line.substring("accept ".length())).toList();
            for (String connection : accepted) {
                if (!claimed.contains(connection)) {
                    claimed.add(connection);
                    address[0] = connection.substring(0, connection.indexOf(':'));
                    return true;
                }
            }
            return false;
        }, Duration.ofSeconds(60), () -> "job " + jobId + "'s client never connected: " + read(work.resolve("server.log")));
        return address[0];
    }

    /** The server saw one connection from the address, never closed, and 1, 2, 3, ... on it. */
    private void assertOneUnbrokenConnection(String address) {
        String log = read(work.resolve("server.log"));
        assertEquals(1, log.lines().filter(line -> line.startsWith("accept " + address + ":")).count(),
                () -> "the server saw a reconnect from " + address + ":\n" + log);
        assertFalse(log.contains("closed " + address + ":"), () -> "the connection was closed:\n" + log);
        List<Long> numbers = received(address);
        for (int i = 0; i < numbers.size(); i++) {
            assertEquals(i + 1L, numbers.get(i), "the counter from " + address + " broke at " + (i + 1) + ": " + numbers);
        }
    }

    private long submitClient(Testbed testbed, String node, String address, String mac) {
        String namespace = "lbj-$SLURM_JOB_ID";
        // The set-up runs on the first start only: after a move, Slurm runs the script again on the
        // target, where the agent has re-created the namespace for the restored container already.
        String script = String.join("; ",
                "set -e",
                "if [ \"${SLURM_RESTART_COUNT:-0}\" = 0 ]; then ip netns add " + namespace,
                "nsenter --net=/run/netns/" + namespace + " -- sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
                "ip -n " + namespace + " link set lo up",
                "ip link add link eth0 name lbm$SLURM_JOB_ID address " + mac + " type macvlan mode bridge",
                "ip link set lbm$SLURM_JOB_ID netns " + namespace,
                "ip -n " + namespace + " link set lbm$SLURM_JOB_ID name eth0",
                "ip -n " + namespace + " addr add " + address + "/24 dev eth0",
                "ip -n " + namespace + " link set eth0 up; fi",
                "exec " + testbed.repository().resolve("launcher/lifeboat-run") + " --netns /run/netns/" + namespace
                        + " --stdout " + work.resolve("client.out") + " --stderr " + work.resolve("client.err")
                        + " -- /usr/bin/python3 -u " + work.resolve("client.py") + " " + SERVER_ADDRESS + " " + SERVER_PORT);
        long jobId = testbed.sbatch("--migratable", "--nodelist=" + node, "--output=" + work.resolve("slurm.out"),
                "--chdir=" + work, "--wrap", script);
        testbed.awaitJobState(jobId, "RUNNING", Duration.ofSeconds(30));
        return jobId;
    }

    private List<Long> received(String address) {
        return read(work.resolve("server.log")).lines().filter(line -> line.startsWith(address + " "))
                .map(line -> Long.parseLong(line.substring(address.length() + 1).strip())).toList();
    }

    private static long restoredInit(Testbed testbed, String node, long jobId) throws IOException {
        for (JsonNode job : JSON.readTree(testbed.lifeboat("status", "--json", "--socket", testbed.agentSocket(node).toString())
                .orThrow().stdout()).path("jobs")) {
            if (job.path("job").asLong() == jobId) {
                return job.path("container").path("init-pid").asLong();
            }
        }
        throw new AssertionError("job " + jobId + " is not registered on " + node);
    }

    private static String netnsOf(long pid) throws IOException {
        return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns/net")).toString();
    }

    private static String netnsInode(Path namedNamespace) throws IOException {
        return "net:[" + Files.getAttribute(namedNamespace, "unix:ino") + "]";
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }
}
