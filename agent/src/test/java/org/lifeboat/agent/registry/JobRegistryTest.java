package org.lifeboat.agent.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JobRegistryTest {

    private static final Instant NOW = Instant.parse("2026-11-22T01:02:03.456789Z");
    private static final Instant NOW_IN_MILLIS = Instant.parse("2026-11-22T01:02:03.456Z");
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    private static final int ALICE = 1000;
    private static final int BOB = 1001;

    @TempDir
    Path state;

    private JobRegistry registry;

    @BeforeEach
    void openRegistry() throws IOException {
        registry = new JobRegistry(new RegistryStore(state), CLOCK);
    }

    @Test
    void aNewRegistryIsEmptyAndWritesNothing() throws Exception {
        assertEquals(List.of(), registry.jobs());
        assertEquals(0, registry.size());
        assertEquals(List.of(), filesIn(state));
    }

    @Test
    void theFirstStepRegistersTheJobWithItsOwnerAndTheTimeInMilliseconds() throws Exception {
        JobRecord job = registry.stepStarted(42, ALICE, 100, "batch", 2, 4);

        assertEquals(42, job.job());
        assertEquals(ALICE, job.uid());
        assertEquals(100, job.gid());
        assertEquals(NOW_IN_MILLIS, job.registered());
        assertEquals(Map.of("batch", new StepRecord("batch", 2, 4, Map.of(), NOW_IN_MILLIS)), job.steps());
        assertEquals(Optional.of(job), registry.job(42));
    }

    @Test
    void aSecondRegistryOverTheSameStateDirectorySeesEverythingTheFirstSaved() throws Exception {
        registry.stepStarted(42, ALICE, 100, "batch", 0, 2);
        registry.taskStarted(42, "batch", 0, 4242);
        registry.taskStarted(42, "batch", 1, 4243);
        registry.stepStarted(42, ALICE, 100, "0", 0, 1);
        registry.stepStarted(7, BOB, 101, "extern", 1, 0);

        JobRegistry restarted = new JobRegistry(new RegistryStore(state), Clock.systemUTC());

        assertEquals(registry.jobs(), restarted.jobs());
        assertEquals(Map.of(0, 4242L, 1, 4243L), restarted.job(42).orElseThrow().steps().get("batch").taskPids());
    }

    @Test
    void savingLeavesOnlyTheRegistryFileBehindNoTemporaryFile() throws Exception {
        registry.stepStarted(42, ALICE, 100, "batch", 0, 1);
        registry.stepStarted(43, ALICE, 100, "batch", 0, 1);

        assertEquals(List.of("registry.json"), filesIn(state));
    }

    @Test
    void registeringTheSameStepAgainReplacesIt() throws Exception {
        registry.stepStarted(42, ALICE, 100, "batch", 0, 1);
        registry.taskStarted(42, "batch", 0, 4242);

        JobRecord job = registry.stepStarted(42, ALICE, 100, "batch", 1, 3);

        assertEquals(new StepRecord("batch", 1, 3, Map.of(), NOW_IN_MILLIS), job.steps().get("batch"));
        assertEquals(1, job.steps().size());
    }

    @Test
    void aStepClaimingAnotherOwnerForAKnownJobIsAConflictAndChangesNothing() throws Exception {
        JobRecord before = registry.stepStarted(42, ALICE, 100, "batch", 0, 1);

        RegistryException otherUser = assertThrows(RegistryException.class,
                () -> registry.stepStarted(42, BOB, 100, "0", 0, 1));
        RegistryException otherGroup = assertThrows(RegistryException.class,
                () -> registry.stepStarted(42, ALICE, 101, "0", 0, 1));

        assertEquals(RegistryException.Reason.CONFLICT, otherUser.reason());
        assertEquals(RegistryException.Reason.CONFLICT, otherGroup.reason());
        assertEquals(List.of(before), registry.jobs());
        assertEquals(List.of(before), reloaded());
    }

    @Test
    void aTaskIsRecordedWithItsPid() throws Exception {
        registry.stepStarted(42, ALICE, 100, "0", 0, 2);

        JobRecord job = registry.taskStarted(42, "0", 1, 99_999);

        assertEquals(Map.of(1, 99_999L), job.steps().get("0").taskPids());
    }

    @Test
    void aTaskOfAnUnknownJobOrStepIsRefused() throws Exception {
        registry.stepStarted(42, ALICE, 100, "batch", 0, 1);

        RegistryException unknownJob = assertThrows(RegistryException.class, () -> registry.taskStarted(43, "batch", 0, 1));
        RegistryException unknownStep = assertThrows(RegistryException.class, () -> registry.taskStarted(42, "0", 0, 1));

        assertEquals(RegistryException.Reason.UNKNOWN_JOB, unknownJob.reason());
        assertEquals(RegistryException.Reason.UNKNOWN_STEP, unknownStep.reason());
    }

    @Test
    void anEndedStepIsRemovedButItsJobStays() throws Exception {
        registry.stepStarted(42, ALICE, 100, "batch", 0, 1);
        registry.stepStarted(42, ALICE, 100, "0", 0, 1);

        JobRecord job = registry.stepEnded(42, "0");

        assertEquals(Set.of("batch"), job.steps().keySet());
        registry.stepEnded(42, "batch");
        assertEquals(Map.of(), registry.job(42).orElseThrow().steps());
        assertEquals(registry.jobs(), reloaded());
    }

    @Test
    void theEndOfAnUnknownStepIsUnknownStepAndOfAnUnknownJobIsUnknownJob() throws Exception {
        registry.stepStarted(42, ALICE, 100, "batch", 0, 1);

        RegistryException unknownStep = assertThrows(RegistryException.class, () -> registry.stepEnded(42, "0"));
        RegistryException unknownJob = assertThrows(RegistryException.class, () -> registry.stepEnded(43, "batch"));

        assertEquals(RegistryException.Reason.UNKNOWN_STEP, unknownStep.reason());
        assertEquals(RegistryException.Reason.UNKNOWN_JOB, unknownJob.reason());
        assertEquals(Set.of("batch"), registry.job(42).orElseThrow().steps().keySet());
    }

    @Test
    void anEndedJobIsRemovedAndStaysRemovedAfterARestart() throws Exception {
        registry.stepStarted(42, ALICE, 100, "batch", 0, 1);
        registry.stepStarted(43, BOB, 101, "batch", 0, 1);

        registry.jobEnded(42);

        assertEquals(Optional.empty(), registry.job(42));
        assertEquals(List.of(43L), reloaded().stream().map(JobRecord::job).toList());
    }

    @Test
    void theEndOfAnUnknownJobIsFineAndTouchesNothing() throws Exception {
        registry.jobEnded(42);
        registry.jobEnded(42);

        assertEquals(List.of(), registry.jobs());
        assertEquals(List.of(), filesIn(state));
    }

    @Test
    void retainOnlyDropsExactlyTheJobsNotGivenAndPersistsThat() throws Exception {
        for (long job : List.of(1L, 2L, 3L, 4L)) {
            registry.stepStarted(job, ALICE, 100, "batch", 0, 1);
        }

        List<Long> dropped = registry.retainOnly(Set.of(2L, 4L, 99L));

        assertEquals(List.of(1L, 3L), dropped);
        assertEquals(List.of(2L, 4L), registry.jobs().stream().map(JobRecord::job).toList());
        assertEquals(List.of(2L, 4L), reloaded().stream().map(JobRecord::job).toList());
    }

    @Test
    void retainOnlyThatDropsNothingDoesNotNeedToSave() throws Exception {
        registry.stepStarted(1, ALICE, 100, "batch", 0, 1);
        breakSaving();

        assertEquals(List.of(), registry.retainOnly(Set.of(1L)));
        assertEquals(1, registry.size());
    }

    @Test
    void aCorruptRegistryFileIsAnErrorAtLoadNotAnEmptyRegistry() throws Exception {
        Files.writeString(state.resolve("registry.json"), "[{\"job\":42,\"uid\":");

        IOException error = assertThrows(IOException.class, () -> new JobRegistry(new RegistryStore(state), CLOCK));

        assertTrue(error.getMessage().contains(state.resolve("registry.json").toString()), error.getMessage());
        assertEquals("[{\"job\":42,\"uid\":", Files.readString(state.resolve("registry.json")), "the file must be left for inspection");
    }

    @Test
    void aFailedSaveRefusesANewJobAndLeavesMemoryAndDiskAsBefore() throws Exception {
        registry.stepStarted(42, ALICE, 100, "batch", 0, 1);
        List<JobRecord> before = registry.jobs();
        String savedBefore = Files.readString(state.resolve("registry.json"));
        breakSaving();

        assertThrows(IOException.class, () -> registry.stepStarted(43, BOB, 101, "batch", 0, 1));

        assertEquals(before, registry.jobs());
        assertEquals(Optional.empty(), registry.job(43));
        assertEquals(savedBefore, Files.readString(state.resolve("registry.json")));
    }

    @Test
    void aFailedSaveRefusesEveryKindOfChangeAndLeavesMemoryAsBefore() throws Exception {
        registry.stepStarted(42, ALICE, 100, "batch", 0, 1);
        registry.stepStarted(43, BOB, 101, "batch", 0, 1);
        List<JobRecord> before = registry.jobs();
        breakSaving();

        assertThrows(IOException.class, () -> registry.stepStarted(42, ALICE, 100, "0", 0, 1));
        assertThrows(IOException.class, () -> registry.stepStarted(42, ALICE, 100, "batch", 5, 5));
        assertThrows(IOException.class, () -> registry.taskStarted(42, "batch", 0, 4242));
        assertThrows(IOException.class, () -> registry.stepEnded(42, "batch"));
        assertThrows(IOException.class, () -> registry.jobEnded(42));
        assertThrows(IOException.class, () -> registry.retainOnly(Set.of(42L)));

        assertEquals(before, registry.jobs());
        assertEquals(before, reloaded());
    }

    @Test
    void aRegistryWhoseStateDirectoryVanishedRefusesChanges() throws Exception {
        Path vanishing = Files.createDirectory(state.resolve("vanishing"));
        JobRegistry registry = new JobRegistry(new RegistryStore(vanishing), CLOCK);
        Files.delete(vanishing);

        assertThrows(IOException.class, () -> registry.stepStarted(42, ALICE, 100, "batch", 0, 1));

        assertEquals(List.of(), registry.jobs());
    }

    @Test
    void savingWorksAgainOnceTheCauseOfAFailureIsGone() throws Exception {
        Path blocker = breakSaving();
        assertThrows(IOException.class, () -> registry.stepStarted(42, ALICE, 100, "batch", 0, 1));

        Files.delete(blocker);
        registry.stepStarted(42, ALICE, 100, "batch", 0, 1);

        assertEquals(List.of(42L), reloaded().stream().map(JobRecord::job).toList());
    }

    @Test
    void theJobListIsASnapshotThatCannotChangeTheRegistry() throws Exception {
        registry.stepStarted(42, ALICE, 100, "batch", 0, 1);
        List<JobRecord> jobs = registry.jobs();

        registry.stepStarted(43, ALICE, 100, "batch", 0, 1);

        assertEquals(1, jobs.size());
        assertThrows(UnsupportedOperationException.class, () -> jobs.clear());
        assertThrows(UnsupportedOperationException.class, () -> jobs.get(0).steps().clear());
    }

    @Test
    void registrationsAreKeptInJobIdOrder() throws Exception {
        registry.stepStarted(9, ALICE, 100, "batch", 0, 1);
        registry.stepStarted(3, ALICE, 100, "batch", 0, 1);
        registry.stepStarted(5, ALICE, 100, "batch", 0, 1);

        assertEquals(List.of(3L, 5L, 9L), registry.jobs().stream().map(JobRecord::job).toList());
        assertFalse(registry.job(4).isPresent());
    }

    /** Makes every save fail: the temporary file's name is taken by a directory. */
    private Path breakSaving() throws IOException {
        return Files.createDirectory(state.resolve("registry.json.tmp"));
    }

    private List<JobRecord> reloaded() throws IOException {
        return new RegistryStore(state).load();
    }

    private static List<String> filesIn(Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(file -> file.getFileName().toString()).sorted().toList();
        }
    }
}
