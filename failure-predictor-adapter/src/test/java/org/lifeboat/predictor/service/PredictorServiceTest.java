package org.lifeboat.predictor.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.predictor.FakeDrainer;
import org.lifeboat.predictor.FakeEvacuator;
import org.lifeboat.predictor.PredictionSource;
import org.lifeboat.predictor.RecordingOutcomes;
import org.lifeboat.predictor.config.EdacDetectorConfig;
import org.lifeboat.predictor.config.IpmiDetectorConfig;
import org.lifeboat.predictor.config.PlanningConfig;
import org.lifeboat.predictor.config.PredictorConfig;
import org.lifeboat.predictor.config.AlertmanagerIntakeConfig;
import org.lifeboat.predictor.detect.ToolRunner;

class PredictorServiceTest {

    @TempDir
    Path directory;

    private final FakeDrainer drainer = new FakeDrainer();
    private final FakeEvacuator evacuator = new FakeEvacuator();
    private final List<List<String>> commands = new CopyOnWriteArrayList<>();
    private final ToolRunner tools = (command, timeout) -> {
        commands.add(command);
        return new ToolRunner.ToolOutput(0, "", "");
    };

    private PredictorConfig config(Path edacRoot, Path ipmitool, String holdDown) {
        return new PredictorConfig(0.8, org.lifeboat.predictor.Durations.parse(holdDown), 1 << 20,
                directory.resolve("prediction-token"), java.util.Optional.empty(), AlertmanagerIntakeConfig.defaults(),
                EdacDetectorConfig.fromFile(true, edacRoot.toString(), "1s", 5L, "10m", 0.9),
                IpmiDetectorConfig.fromFile(true, ipmitool.toString(), "10s", null, null, null),
                PlanningConfig.defaults());
    }

    private static void awaitTrue(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what);
            Thread.sleep(50);
        }
    }

    @Test
    @Timeout(60)
    void theRunningServicePollsEdacAndIpmiActsOnAPredictionAndCancelsAfterTheHoldDown() throws Exception {
        Path edac = directory.resolve("mc");
        Files.createDirectories(edac.resolve("mc0"));
        Files.writeString(edac.resolve("mc0/ce_count"), "0\n");
        Files.writeString(edac.resolve("mc0/ue_count"), "0\n");
        Path ipmitool = Files.createFile(directory.resolve("ipmitool"),
                java.nio.file.attribute.PosixFilePermissions.asFileAttribute(java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x")));
        RecordingOutcomes outcomes = new RecordingOutcomes();
        PredictorService service = new PredictorService(config(edac, ipmitool, "1s"), "node2", node -> true, drainer, evacuator,
                outcomes, tools, Clock.systemUTC());
        service.start();
        try {
            awaitTrue("ipmitool to be run", () -> !commands.isEmpty());
            Thread.sleep(1_500);
            Files.writeString(edac.resolve("mc0/ce_count"), "50\n");
            awaitTrue("the EDAC detector's evacuation", () -> evacuator.evacuationsOf("node2") == 1);
            assertEquals(List.of(ipmitool.toString(), "sel", "elist"), commands.get(0));
            assertTrue(drainer.isDrained("node2"));

            assertEquals("held-down", service.book().withdrawAll("node2", PredictionSource.CLI).label());
            awaitTrue("the cancellation after the hold-down", () -> evacuator.cancellations.contains("node2"));
            awaitTrue("the undrain", () -> !drainer.isDrained("node2"));
            assertEquals(List.of("edac evacuation-started", "cli cancelled"),
                    outcomes.all().stream().filter(o -> !o.endsWith("deduplicated")).toList());
        } finally {
            service.stop();
        }
        assertTrue(threadsEnd(), "threads left after stop");
    }

    private static boolean threadsEnd() throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            if (Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().startsWith("lifeboat-predictor"))) {
                return true;
            }
            Thread.sleep(50);
        }
        return false;
    }

    @Test
    void aMissingTokenFileIsCreatedWithARandomTokenThatOnlyItsOwnerMayRead() throws Exception {
        Path token = directory.resolve("prediction-token");

        new PredictorService(withToken(token), "node2", node -> true, drainer, evacuator, (s, o) -> { }, tools,
                Clock.systemUTC()).stop();

        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(token)));
        assertTrue(Files.readString(token).matches("[0-9a-f]{64}\n"), Files.readString(token));
        assertEquals(List.of("prediction-token"), Files.list(directory).map(p -> p.getFileName().toString()).toList());
    }

    @Test
    void anExistingTokenIsKeptAndOneOthersMayReadOrWithSpacesFailsConstruction() throws Exception {
        Path token = Files.writeString(directory.resolve("prediction-token"), "  abc123\n");
        Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
        new PredictorService(withToken(token), "node2", node -> true, drainer, evacuator, (s, o) -> { }, tools,
                Clock.systemUTC()).stop();
        assertEquals("  abc123\n", Files.readString(token));

        Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-r--r--"));
        IOException readable = assertThrows(IOException.class, () -> new PredictorService(withToken(token), "node2",
                node -> true, drainer, evacuator, (s, o) -> { }, tools, Clock.systemUTC()));
        assertTrue(readable.getMessage().contains("chmod 600"), readable.getMessage());
        Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-------"));
        Files.writeString(token, "two words\n");
        assertThrows(IOException.class, () -> new PredictorService(withToken(token), "node2", node -> true, drainer, evacuator,
                (s, o) -> { }, tools, Clock.systemUTC()));
        Path missingDirectory = directory.resolve("absent/prediction-token");
        IOException noDirectory = assertThrows(IOException.class, () -> new PredictorService(withToken(missingDirectory), "node2",
                node -> true, drainer, evacuator, (s, o) -> { }, tools, Clock.systemUTC()));
        assertTrue(noDirectory.getMessage().contains("does not exist"), noDirectory.getMessage());
    }

    private static PredictorConfig withToken(Path token) {
        return PredictorConfig.fromFile(null, null, null, token.toString(), null, null, null, null, null);
    }

    @Test
    void aDisabledSelDetectorNeverRunsIpmitool() throws Exception {
        Path ipmitool = Files.createFile(directory.resolve("ipmitool"),
                java.nio.file.attribute.PosixFilePermissions.asFileAttribute(java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x")));
        PredictorConfig config = PredictorConfig.fromFile(null, null, null, directory.resolve("prediction-token").toString(), null, null,
                EdacDetectorConfig.fromFile(false, null, "1s", null, null, null),
                IpmiDetectorConfig.fromFile(false, ipmitool.toString(), "10s", null, null, null), null);
        PredictorService service = new PredictorService(config, "node2", node -> true, drainer, evacuator, (s, o) -> { }, tools,
                Clock.systemUTC());
        service.start();
        Thread.sleep(1_500);
        service.stop();

        assertEquals(List.of(), commands);
    }
}
