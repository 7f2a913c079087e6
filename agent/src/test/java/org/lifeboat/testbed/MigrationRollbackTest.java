package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Failures before the point of no return give the job back where it was: the frozen container on
 * node1 resumes, its sequence carries on without a reset, and the error names the cause.
 */
@TestbedIntegration
final class MigrationRollbackTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aFullTargetTmpfsRollsBackAndSaysSo(Testbed testbed) throws Exception {
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", 256);
        long init = workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(5);
        Path checkpoints = testbed.runDirectory().resolve("nodes/node2/checkpoints");
        Path filler = checkpoints.resolve("filler");
        long free = Files.getFileStore(checkpoints).getUsableSpace();
        testbed.run("fallocate", "--length", Long.toString(free - (64L << 20)), filler.toString()).orThrow();
        JsonNode report;
        try {
            report = migrate(testbed, workload, 5);
        } finally {
            Files.delete(filler);
        }

        assertTrue(report.path("cause").asText().contains("not enough space for the images"), report::toString);
        assertResumedWhereItWas(testbed, workload, init);
    }

    @Test
    void aFailedRestoreOnTheTargetRollsBackAndQuotesCriu(Testbed testbed) throws Exception {
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", 256);
        long init = workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(5);
        Path override = testbed.runDirectory().resolve("nodes/node2/agent.override.yaml");
        Path wrapper = failingRestoreCriu(testbed);
        String config = Files.readString(testbed.runDirectory().resolve("nodes/node2/agent.yaml"));
        Files.writeString(override, config.replaceFirst("criu-path: .*", "criu-path: " + wrapper));
        JsonNode report;
        try {
            testbed.restartAgent("node2");
            report = migrate(testbed, workload, 5);
        } finally {
            Files.delete(override);
            testbed.restartAgent("node2");
        }

        assertTrue(report.path("cause").asText().contains("CRIU restore"), report::toString);
        assertTrue(report.path("cause").asText().contains("Error (injected): this restore fails"), report::toString);
        assertResumedWhereItWas(testbed, workload, init);
    }

    @Test
    void theTargetAgentKilledDuringSendImagesRollsBack(Testbed testbed) throws Exception {
        // 64 MiB in the container's /tmp travel with the image files; at 100 Mbit/s that keeps
        // SEND_IMAGES open for about five seconds, long enough to kill the target in it.
        MigrationEngineTest.Workload workload = MigrationEngineTest.Workload.start(testbed, "node1", 16, 64);
        long init = workload.awaitContainer(testbed, "node1");
        workload.awaitSequence(5);
        testbed.runOnNode("node1", "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate", "100mbit", "burst", "256kb",
                "latency", "100ms").orThrow();
        JsonNode report;
        try {
            long logStart = Files.size(testbed.agentLog("node1"));
            CompletableFuture<JsonNode> migration = CompletableFuture.supplyAsync(() -> migrate(testbed, workload, 5));
            Testbed.await(() -> logSince(testbed, logStart).contains("SEND_IMAGES started"), Duration.ofSeconds(120),
                    () -> "the migration never reached SEND_IMAGES:\n" + logSince(testbed, logStart));
            testbed.killAgent("node2");
            report = migration.join();
        } finally {
            testbed.runOnNode("node1", "tc", "qdisc", "delete", "dev", "eth0", "root");
            testbed.run(Duration.ofMinutes(2), List.of(testbed.clusterScript().toString(), "up")).orThrow();
        }

        assertTrue(report.path("phase-millis").has("send-images") && !report.path("phase-millis").has("restore"),
                report::toString);
        assertResumedWhereItWas(testbed, workload, init);
        MigrationEngineTest.assertNothingLeftOn(testbed, "node2");
    }

    /** Runs `lifeboat migrate` to node2 and checks it rolled back (exit code 5). */
    private static JsonNode migrate(Testbed testbed, MigrationEngineTest.Workload workload, int expectedExitCode) {
        CommandResult migrate = testbed.lifeboat("migrate", Long.toString(workload.jobId), "--to", "node2", "--json",
                "--socket", testbed.agentSocket("node1").toString());
        assertEquals(expectedExitCode, migrate.exitCode(), migrate::describe);
        try {
            JsonNode report = JSON.readTree(migrate.stdout());
            assertEquals("rolled-back", report.path("outcome").asText(), migrate::describe);
            assertTrue(report.path("phase-millis").has("rollback"), migrate::describe);
            System.out.println("rolled back: " + report.path("cause").asText());
            return report;
        } catch (IOException e) {
            throw new AssertionError(migrate.describe(), e);
        }
    }

    private static void assertResumedWhereItWas(Testbed testbed, MigrationEngineTest.Workload workload, long init) {
        int before = workload.sequence().size();
        workload.awaitSequence(before + 5);
        workload.assertSequenceIsUnbroken();
        assertTrue(Files.exists(Path.of("/proc", Long.toString(init))), "the container on node1 is gone");
        assertEquals("RUNNING", testbed.jobState(workload.jobId));
    }

    /** A criu that fails every restore the way CRIU does: a non-zero exit and an error in its log. */
    static Path failingRestoreCriu(Testbed testbed) throws IOException {
        Path wrapper = testbed.runDirectory().resolve("criu-failing-restore");
        Files.writeString(wrapper, "#!/bin/sh\n"
                + "if [ \"$1\" = restore ]; then\n"
                + "  images=$(printf '%s\\n' \"$@\" | sed -n '/^--images-dir$/{n;p}')\n"
                + "  echo '(00.001) Error (injected): this restore fails' > \"$images/restore.log\"\n"
                + "  exit 1\n"
                + "fi\n"
                + "exec " + testbed.criu() + " \"$@\"\n");
        Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
        return wrapper;
    }

    private static String logSince(Testbed testbed, long offset) {
        try {
            byte[] log = Files.readAllBytes(testbed.agentLog("node1"));
            return new String(log, (int) Math.min(offset, log.length), (int) Math.max(0, log.length - offset));
        } catch (IOException e) {
            return "";
        }
    }
}
