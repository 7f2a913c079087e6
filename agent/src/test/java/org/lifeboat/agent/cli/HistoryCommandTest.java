package org.lifeboat.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.type.TypeReference;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.migration.MigrationException;
import org.lifeboat.agent.migration.MigrationReport;
import org.lifeboat.agent.migration.Reports;
import org.lifeboat.agent.registry.JobRegistry;
import org.lifeboat.agent.registry.RegistryStore;
import org.lifeboat.agent.socket.Authorizer;
import org.lifeboat.agent.socket.JobNetworkRequests;
import org.lifeboat.agent.socket.RequestHandler;
import picocli.CommandLine;

/** `lifeboat history` against a real agent socket whose history holds a rolled-back and a migrated job. */
class HistoryCommandTest {

    private static final List<MigrationReport> NEWEST_FIRST =
            List.of(Reports.rolledBack("job43-bbbb", 43, 0), Reports.migrated("job42-aaaa", 42, 0));

    @TempDir
    Path directory;

    private TestAgentSocket agent;
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @BeforeEach
    void startAgentSocket() throws Exception {
        JobRegistry registry = new JobRegistry(new RegistryStore(directory), Clock.systemUTC());
        RequestHandler handler = new RequestHandler(registry, new Authorizer(64030), (job, target, mode) -> {
            throw new MigrationException(MigrationException.Reason.CONFLICT, "not part of this test");
        }, JobNetworkRequests.NONE, () -> NEWEST_FIRST);
        agent = TestAgentSocket.start(directory, handler);
    }

    @AfterEach
    void stopAgentSocket() throws Exception {
        agent.close();
    }

    @Test
    void printsEveryMigrationWithItsPhasesAndCriusFiguresBesideDumpAndRestore() {
        assertEquals(0, run("history", "--socket", socket().toString()), err::toString);

        String expected = String.join(System.lineSeparator(),
                "job43-bbbb, started 2026-11-22T05:00:00Z",
                "job 43: rolled-back from node1 to node3 (shared-fs), 345 ms in all, frozen 0 ms",
                "  prepare-target       9 ms",
                "  dump               241 ms",
                "  send-images          0 ms",
                "  restore             35 ms",
                "  rollback            60 ms",
                "  memory 268435456 bytes, other images 0 bytes",
                "  cause (restore-failed): the agent at 10.241.0.3:9465 refused: CRIU restore failed",
                "",
                "job42-aaaa, started 2026-11-22T04:11:00.123Z",
                "job 42: migrated from node1 to node2 (diskless), 1877 ms in all, frozen 1448 ms",
                "  prepare-target      12 ms",
                "  dump               924 ms   CRIU: frozen 1448.0 ms (freezing 1.2 ms), memdump 80.5 ms, memwrite 700.3 ms,"
                        + " 65536 pages written",
                "  send-images         76 ms",
                "  restore            446 ms   CRIU: restore 400.0 ms (forking 2.0 ms), 65536 pages restored",
                "  confirm            101 ms",
                "  cleanup            318 ms",
                "  memory 268435456 bytes (140000000 on the link, compressed), other images 350000 bytes",
                "", "");
        assertEquals(expected, out.toString());
    }

    @Test
    void jsonIsTheAgentsReportsAsTheyAre() throws Exception {
        assertEquals(0, run("history", "--json", "--socket", socket().toString()), err::toString);

        List<MigrationReport> printed = AgentJson.mapper().readerFor(new TypeReference<List<MigrationReport>>() {})
                .readValue(AgentJson.mapper().readTree(out.toString()).path("migrations"));
        assertEquals(NEWEST_FIRST, printed);
    }

    @Test
    void aLimitOutsideOneTo1000IsAUsageError() {
        assertEquals(2, run("history", "--limit", "0", "--socket", socket().toString()));
        assertTrue(err.toString().contains("--limit must be from 1 to 1000, not 0"), err::toString);
    }

    @Test
    void anAgentThatCannotBeReachedExitsWith1() {
        assertEquals(1, run("history", "--socket", directory.resolve("absent.sock").toString()));
        assertTrue(err.toString().startsWith("lifeboat history: cannot reach the lifeboat agent"), err::toString);
    }

    private Path socket() {
        return agent.path();
    }

    private int run(String... arguments) {
        CommandLine commandLine = LifeboatCommand.commandLine();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        return commandLine.execute(arguments);
    }
}
