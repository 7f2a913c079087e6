package org.lifeboat.predictor.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.predictor.FakeDrainer;
import org.lifeboat.predictor.FakeEvacuator;
import org.lifeboat.predictor.MutableClock;
import org.lifeboat.predictor.Prediction;
import org.lifeboat.predictor.PredictionBook;
import org.lifeboat.predictor.PredictionSource;
import org.lifeboat.predictor.RecordingOutcomes;
import org.lifeboat.predictor.config.IpmiDetectorConfig;

class IpmiSelDetectorTest {

    private static final Instant START = Instant.parse("2026-03-01T12:00:00Z");

    @TempDir
    Path directory;

    private final MutableClock clock = new MutableClock(START);
    private final FakeEvacuator evacuator = new FakeEvacuator();
    // Above the detector's 0.9: its warnings are recorded only, an uncorrectable error (confidence 1) evacuates.
    private final PredictionBook book = new PredictionBook(0.95, Duration.ofMinutes(2), new FakeDrainer(), evacuator,
            new RecordingOutcomes(), Runnable::run, clock);
    private final Deque<Object> answers = new ArrayDeque<>();
    private final List<List<String>> commands = new ArrayList<>();
    private IpmiSelDetector detector;
    private Path ipmitool;

    @BeforeEach
    void createDetector() throws IOException {
        ipmitool = Files.createFile(directory.resolve("ipmitool"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        detector = detector(1);
    }

    /** A detector whose ipmitool answers, in turn, what the test queued. */
    private IpmiSelDetector detector(long correctableEventsPerInterval) {
        ToolRunner runner = (command, timeout) -> {
            commands.add(command);
            Object answer = answers.removeFirst();
            if (answer instanceof IOException e) {
                throw e;
            }
            return (ToolRunner.ToolOutput) answer;
        };
        return new IpmiSelDetector(IpmiDetectorConfig.fromFile(null, ipmitool.toString(), "5m", correctableEventsPerInterval, "30m", 0.9),
                "node2", runner, book, clock);
    }

    private void pollWith(String sample) throws IOException {
        answers.add(new ToolRunner.ToolOutput(0, SelEntryTest.sample(sample), ""));
        detector.poll();
        clock.advance(Duration.ofMinutes(5));
    }

    private List<Prediction> predictions() {
        List<Prediction> all = new ArrayList<>(book.snapshot().recentlyRecorded());
        book.snapshot().evacuating().forEach(node -> all.addAll(node.predictions()));
        return all;
    }

    @Test
    void theFirstReadIsHistoryAndANewCorrectableRecordIsAPrediction() throws IOException {
        pollWith("sel-elist-baseline.txt");
        assertEquals(List.of(), predictions(), "records from before the agent started are history");

        pollWith("sel-elist-correctable.txt");

        assertEquals(List.of(List.of(ipmitool.toString(), "sel", "elist"), List.of(ipmitool.toString(), "sel", "elist")), commands);
        assertEquals(List.of(new Prediction("node2", START.plus(Duration.ofMinutes(35)), 0.9, PredictionSource.IPMI,
                "IPMI SEL: 1 correctable ECC record in 5m, latest Correctable ECC on Memory DIMM_B2 (record a)", "ipmi:node2")),
                predictions());
    }

    @Test
    void aReachedLoggingLimitIsAPredictionWithTheConfiguredConfidence() throws IOException {
        pollWith("sel-elist-baseline.txt");
        pollWith("sel-elist-limit-reached.txt");

        assertEquals(0.9, predictions().get(0).confidence());
        assertTrue(predictions().get(0).reason().contains("Correctable ECC logging limit reached on Memory #0x53"));
    }

    @Test
    void anUncorrectableErrorIsAPredictionWithConfidenceOneAndStartsTheEvacuation() throws IOException {
        pollWith("sel-elist-baseline.txt");
        pollWith("sel-elist-uncorrectable.txt");

        assertEquals(1.0, predictions().get(0).confidence());
        assertEquals("IPMI SEL: Uncorrectable ECC on Memory DIMM_B2 (record b)", predictions().get(0).reason());
        assertEquals(1, evacuator.evacuations.size());
    }

    @Test
    void aRecordAlreadySeenIsNotCountedAgain() throws IOException {
        pollWith("sel-elist-baseline.txt");
        pollWith("sel-elist-correctable.txt");
        pollWith("sel-elist-correctable.txt");

        assertEquals(1, predictions().size());
    }

    @Test
    void afterTheSelIsClearedARecordWithAnOldIdIsStillNew() throws IOException {
        pollWith("sel-elist-baseline.txt");
        pollWith("sel-elist-after-clear.txt");

        assertEquals("IPMI SEL: Uncorrectable ECC on Memory DIMM_B2 (record 2)", predictions().get(0).reason());
    }

    @Test
    void moreCorrectableRecordsAreNeededWhenTheThresholdIsHigher() throws IOException {
        detector = detector(2);
        pollWith("sel-elist-baseline.txt");
        pollWith("sel-elist-correctable.txt");
        assertEquals(List.of(), predictions(), "one new record, two needed");

        answers.add(new ToolRunner.ToolOutput(0, SelEntryTest.sample("sel-elist-correctable.txt")
                + "   c | 03/01/2026 | 12:09:00 | Memory DIMM_B2 | Correctable ECC | Asserted\n"
                + "   d | 03/01/2026 | 12:09:30 | Memory DIMM_B2 | Correctable ECC | Asserted\n", ""));
        detector.poll();

        assertTrue(predictions().get(0).reason().startsWith("IPMI SEL: 2 correctable ECC records in 5m"), predictions().get(0).reason());
    }

    @Test
    void aFailingOrMissingIpmitoolIsNoPredictionAndNoException() throws IOException {
        answers.add(new ToolRunner.ToolOutput(1, "", "Could not open device at /dev/ipmi0: No such file or directory"));
        detector.poll();
        answers.add(new IOException("ipmitool timed out after 120 s"));
        detector.poll();
        Files.delete(ipmitool);
        detector.poll();

        assertEquals(2, commands.size(), "a missing ipmitool is not run");
        assertEquals(List.of(), predictions());
    }
}
