package org.lifeboat.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.migration.MigrationException;
import org.lifeboat.agent.migration.Reports;
import org.lifeboat.agent.registry.JobRegistry;
import org.lifeboat.agent.registry.RegistryStore;
import org.lifeboat.agent.socket.Authorizer;
import org.lifeboat.agent.socket.JobNetworkRequests;
import org.lifeboat.agent.socket.RequestHandler;

/** --json of the commands that talk to the agent's socket: one object, its version first, an error object on failure. */
class JsonOutputTest {

    @TempDir
    Path directory;

    private TestAgentSocket agent;
    private TestCommandLine lifeboat;

    @BeforeEach
    void startAgentSocketWithJob42() throws Exception {
        JobRegistry registry = new JobRegistry(new RegistryStore(directory), Clock.systemUTC());
        registry.stepStarted(42, 1000, 1000, "batch", 0, 1);
        agent = TestAgentSocket.start(directory, new RequestHandler(registry, new Authorizer(64030), (job, target, mode) -> {
            if ("node9".equals(target)) {
                throw new MigrationException(MigrationException.Reason.NO_TARGET, "Slurm has no node free for job " + job);
            }
            return Reports.migrated("job42-aaaa", job, 1000);
        }, JobNetworkRequests.NONE, () -> List.of(Reports.migrated("job42-aaaa", 42, 1000))));
        lifeboat = new TestCommandLine(directory.resolve("no-agent.yaml"), TestCommandLine.NO_TOOLS);
    }

    @AfterEach
    void stopAgentSocket() throws Exception {
        agent.close();
    }

    @Test
    void statusIsAnObjectWithItsVersionAndTheJobs() throws Exception {
        assertEquals(0, lifeboat.run("status", "--json", "--socket", socket()), lifeboat::err);

        JsonNode answer = printed();
        assertEquals(List.of("version", "jobs"), fieldNames(answer));
        assertEquals(1, answer.path("version").asInt());
        assertEquals(42, answer.path("jobs").get(0).path("job").asLong());
    }

    @Test
    void statusOfOneJobListsThatJobAlone() throws Exception {
        assertEquals(0, lifeboat.run("status", "--json", "--job", "42", "--socket", socket()), lifeboat::err);

        JsonNode jobs = printed().path("jobs");
        assertEquals(1, jobs.size());
        assertEquals(42, jobs.get(0).path("job").asLong());
    }

    @Test
    void historyIsAnObjectWithItsVersionAndTheMigrations() throws Exception {
        assertEquals(0, lifeboat.run("history", "--json", "--socket", socket()), lifeboat::err);

        JsonNode answer = printed();
        assertEquals(List.of("version", "migrations"), fieldNames(answer));
        assertEquals("job42-aaaa", answer.path("migrations").get(0).path("migration").asText());
    }

    @Test
    void migrateIsTheReportWithItsVersionFirst() throws Exception {
        assertEquals(0, lifeboat.run("migrate", "42", "--to", "node2", "--json", "--socket", socket()), lifeboat::err);

        JsonNode answer = printed();
        assertEquals("version", fieldNames(answer).get(0));
        assertEquals(1, answer.path("version").asInt());
        assertEquals("migrated", answer.path("outcome").asText());
        assertEquals("job42-aaaa", answer.path("migration").asText());
    }

    @Test
    void aRefusalIsTheErrorObjectWithTheAgentsCodeAndExitCode4() throws Exception {
        assertEquals(4, lifeboat.run("migrate", "42", "--to", "node9", "--json", "--socket", socket()));

        assertEquals(error("no-target", "Slurm has no node free for job 42"), printed());
        assertEquals("", lifeboat.err());
    }

    @Test
    void withoutJsonARefusalIsOneLineOnStandardErrorWithItsCode() {
        assertEquals(4, lifeboat.run("status", "--job", "7", "--socket", socket()));

        assertEquals("lifeboat status: unknown-job: job 7 is not registered on this node" + System.lineSeparator(), lifeboat.err());
        assertEquals("", lifeboat.out());
    }

    @Test
    void anUnreachableAgentIsTheErrorObjectWithExitCode1() throws Exception {
        Path absent = directory.resolve("absent.sock");

        assertEquals(1, lifeboat.run("history", "--json", "--socket", absent.toString()));

        JsonNode answer = printed();
        assertEquals("unreachable", answer.path("error").path("code").asText());
        assertTrue(answer.path("error").path("message").asText().startsWith("cannot reach the lifeboat agent at " + absent),
                answer::toString);
    }

    @Test
    void anInvalidCommandLineWithJsonIsTheErrorObjectWithExitCode2() throws Exception {
        assertEquals(2, lifeboat.run("history", "--json", "--limit", "0", "--socket", socket()));

        assertEquals(error("usage", "--limit must be from 1 to 1000, not 0"), printed());
        assertEquals("", lifeboat.err());
    }

    @Test
    void aValueRejectedWhileReadingTheCommandLineIsTheErrorObjectToo() throws Exception {
        assertEquals(2, lifeboat.run("migrate", "42", "--mode", "rsync", "--json"));

        assertEquals(error("usage", "Invalid value for option '--mode': unknown transfer mode 'rsync' (known: diskless, shared-fs, post-copy)"),
                printed());
    }

    private JsonNode printed() throws Exception {
        return AgentJson.mapper().readTree(lifeboat.out());
    }

    private static JsonNode error(String code, String message) {
        return AgentJson.mapper().createObjectNode().put("version", 1).set("error",
                AgentJson.mapper().createObjectNode().put("code", code).put("message", message));
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private String socket() {
        return agent.path().toString();
    }
}
