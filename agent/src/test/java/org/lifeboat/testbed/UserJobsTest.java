package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Two ordinary users' jobs on one node: each owner moves their own, neither sees, moves or signals
 * the other's, and each job comes back on the target as its owner's, with no capability.
 */
@TestbedIntegration
final class UserJobsTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MEMORY_MIB = 64;

    @Test
    void eachUserMovesTheirOwnJobAndCanNeitherSeeNorMoveNorSignalTheOthers(Testbed testbed) throws Exception {
        MigrationEngineTest.Workload alices = MigrationEngineTest.Workload.start(testbed, "node1", MEMORY_MIB, 0, Testbed.JOB_USER);
        MigrationEngineTest.Workload bobs = MigrationEngineTest.Workload.start(testbed, "node1", MEMORY_MIB, 0, Testbed.OTHER_USER);
        long alicesInit = alices.awaitContainer(testbed, "node1");
        bobs.awaitContainer(testbed, "node1");
        String socket = testbed.agentSocket("node1").toString();

        CommandResult bobsView = testbed.lifeboatAs(Testbed.OTHER_USER, "status", "--json", "--socket", socket);
        assertEquals(0, bobsView.exitCode(), bobsView::describe);
        List<Long> bobSees = jobs(bobsView.stdout());
        assertEquals(List.of(bobs.jobId), bobSees, "bob sees only his own job");

        CommandResult bobMovesAlices = testbed.lifeboatAs(Testbed.OTHER_USER, "migrate", Long.toString(alices.jobId), "--to",
                "node2", "--socket", socket);
        assertEquals(4, bobMovesAlices.exitCode(), bobMovesAlices::describe);
        assertTrue(bobMovesAlices.stderr().contains("not-permitted"), bobMovesAlices::describe);

        CommandResult bobSignalsAlices = testbed.run(Duration.ofSeconds(10),
                List.of("runuser", "-u", Testbed.OTHER_USER, "--", "kill", "-TERM", Long.toString(alicesInit)));
        assertFalse(bobSignalsAlices.succeeded(), "bob signalled alice's container: " + bobSignalsAlices.describe());
        alices.awaitSequence(alices.sequence().size() + 3);

        for (MigrationEngineTest.Workload workload : List.of(alices, bobs)) {
            String owner = workload == alices ? Testbed.JOB_USER : Testbed.OTHER_USER;
            CommandResult moved = testbed.lifeboatAs(owner, "migrate", Long.toString(workload.jobId), "--to", "node2", "--json",
                    "--socket", socket);
            assertEquals(0, moved.exitCode(), moved::describe);
            assertEquals("migrated", JSON.readTree(moved.stdout()).path("outcome").asText(), moved::describe);
            workload.awaitSequence(workload.sequence().size() + 5);
            workload.assertSequenceIsUnbroken();
            MigrationEngineTest.assertRestoredAs(testbed.uidOf(owner),
                    MigrationEngineTest.restoredInit(testbed, "node2", workload.jobId));
        }

        alices.stop();
        bobs.stop();
        MigrationEngineTest.assertNothingLeftOn(testbed, "node1");
    }

    private static List<Long> jobs(String statusJson) throws Exception {
        JsonNode jobs = JSON.readTree(statusJson).path("jobs");
        return java.util.stream.StreamSupport.stream(jobs.spliterator(), false).map(job -> job.path("job").asLong()).toList();
    }
}
