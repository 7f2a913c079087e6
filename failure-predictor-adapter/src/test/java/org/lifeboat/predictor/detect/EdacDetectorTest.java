package org.lifeboat.predictor.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
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
import org.lifeboat.predictor.config.EdacDetectorConfig;

/** The detector against a fake EDAC tree laid out like the kernel's, whose counters the test raises. */
class EdacDetectorTest {

    private static final Instant START = Instant.parse("2026-03-01T12:00:00Z");

    @TempDir
    Path sysfs;

    private final MutableClock clock = new MutableClock(START);
    private final FakeDrainer drainer = new FakeDrainer();
    private final FakeEvacuator evacuator = new FakeEvacuator();
    private final PredictionBook book = new PredictionBook(0.8, Duration.ofMinutes(2), drainer, evacuator,
            new RecordingOutcomes(), Runnable::run, clock);
    private Path root;
    private EdacDetector detector;

    @BeforeEach
    void fakeTree() throws IOException {
        root = sysfs.resolve("devices/system/edac/mc");
        write("mc0/ce_count", 120);
        write("mc0/ue_count", 0);
        write("mc0/dimm0/dimm_ce_count", 100);
        Files.writeString(root.resolve("mc0/dimm0/dimm_label"), "CPU_SrcID#0_Ha#0_Chan#0_DIMM#0\n");
        write("mc0/dimm1/dimm_ce_count", 20);
        Files.writeString(root.resolve("mc0/dimm1/dimm_label"), "CPU_SrcID#0_Ha#0_Chan#1_DIMM#0\n");
        write("mc1/ce_count", 5);
        write("mc1/ue_count", 0);
        Files.writeString(root.resolve("mc1/mc_name"), "Skylake Socket#1 IMC#0\n");
        detector = new EdacDetector(EdacDetectorConfig.fromFile(null, root.toString(), "1m", 10L, "30m", 0.9), "node2", book, clock);
    }

    private void write(String file, long count) throws IOException {
        Path path = root.resolve(file);
        Files.createDirectories(path.getParent());
        Files.writeString(path, count + "\n");
    }

    private long read(String file) throws IOException {
        return Long.parseLong(Files.readString(root.resolve(file)).strip());
    }

    private void raise(String file, long by) throws IOException {
        write(file, read(file) + by);
    }

    private void pollAfter(Duration elapsed) {
        clock.advance(elapsed);
        detector.poll();
    }

    private List<Prediction> predictions() {
        List<Prediction> all = new ArrayList<>(book.snapshot().recentlyRecorded());
        book.snapshot().evacuating().forEach(node -> all.addAll(node.predictions()));
        return all;
    }

    @Test
    void errorsCountedBeforeTheFirstPollAreHistory() {
        detector.poll();
        pollAfter(Duration.ofMinutes(1));

        assertEquals(List.of(), predictions());
    }

    @Test
    void tenNewCorrectableErrorsInAMinuteEvacuateTheNodeNamingTheDimm() throws IOException {
        detector.poll();
        raise("mc0/ce_count", 9);
        raise("mc0/dimm1/dimm_ce_count", 9);
        pollAfter(Duration.ofMinutes(1));
        assertEquals(List.of(), predictions(), "nine is below the threshold");

        raise("mc0/ce_count", 8);
        raise("mc0/dimm1/dimm_ce_count", 6);
        raise("mc0/dimm0/dimm_ce_count", 2);
        raise("mc1/ce_count", 2);
        pollAfter(Duration.ofMinutes(1));

        assertEquals(List.of(new Prediction("node2", START.plus(Duration.ofMinutes(32)), 0.9, PredictionSource.EDAC,
                "EDAC: 10 correctable memory errors in 1m (threshold 10 per 1m) on CPU_SrcID#0_Ha#0_Chan#1_DIMM#0 +6, "
                        + "CPU_SrcID#0_Ha#0_Chan#0_DIMM#0 +2", "edac:node2")), predictions());
        assertEquals(1, evacuator.evacuationsOf("node2"));
        assertEquals(List.of("drain node2"), drainer.calls);
    }

    @Test
    void errorsThatKeepComingAreOneEvacuation() throws IOException {
        detector.poll();
        for (int minute = 0; minute < 5; minute++) {
            raise("mc0/ce_count", 50);
            pollAfter(Duration.ofMinutes(1));
        }

        assertEquals(1, evacuator.evacuations.size());
        assertEquals(1, predictions().size());
    }

    @Test
    void aLatePollNeedsProportionallyMoreErrors() throws IOException {
        detector.poll();
        raise("mc0/ce_count", 15);
        pollAfter(Duration.ofMinutes(2));
        assertEquals(List.of(), predictions(), "15 in two minutes is 7.5 a minute");

        raise("mc0/ce_count", 20);
        pollAfter(Duration.ofMinutes(2));
        assertEquals(1, predictions().size());
    }

    @Test
    void anUncorrectableErrorIsAPredictionWithConfidenceOne() throws IOException {
        detector.poll();
        raise("mc1/ue_count", 1);
        pollAfter(Duration.ofMinutes(1));

        assertEquals(1.0, predictions().get(0).confidence());
        assertEquals("EDAC: 1 uncorrectable memory error in 1m", predictions().get(0).reason());
    }

    @Test
    void aCounterThatWentDownWasResetAndCountsFromZero() throws IOException {
        detector.poll();
        write("mc0/ce_count", 3);
        pollAfter(Duration.ofMinutes(1));
        assertEquals(List.of(), predictions());

        write("mc0/ce_count", 13);
        pollAfter(Duration.ofMinutes(1));
        assertEquals(1, predictions().size());
    }

    @Test
    void aMissingTreeOrAnUnreadableCounterIsNoPredictionAndNoException() throws IOException {
        EdacDetector nowhere = new EdacDetector(EdacDetectorConfig.fromFile(null, sysfs.resolve("absent").toString(), "1m", 10L,
                null, null), "node2", book, clock);
        nowhere.poll();
        nowhere.poll();

        detector.poll();
        Files.writeString(root.resolve("mc0/ce_count"), "garbage\n");
        pollAfter(Duration.ofMinutes(1));
        write("mc0/ce_count", 120 + 30);
        pollAfter(Duration.ofMinutes(1));

        assertEquals(1, predictions().size(), "after a bad read, the last good one is the baseline");
        assertEquals("EDAC: 30 correctable memory errors in 2m (threshold 10 per 1m)", predictions().get(0).reason());
    }

    @Test
    void anEmptyEdacDirectoryIsNothingToWatch() throws IOException {
        Path empty = Files.createDirectories(sysfs.resolve("empty/mc"));
        EdacDetector idle = new EdacDetector(EdacDetectorConfig.fromFile(null, empty.toString(), "1m", 1L, null, null), "node2", book, clock);
        idle.poll();
        clock.advance(Duration.ofMinutes(1));
        idle.poll();

        assertEquals(List.of(), predictions());
    }
}
