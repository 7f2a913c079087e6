package org.lifeboat.predictor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.lifeboat.predictor.PredictionBook.Decision;

class PredictionBookTest {

    private static final Instant START = Instant.parse("2026-03-01T12:00:00Z");
    private static final Duration HOLD_DOWN = Duration.ofMinutes(2);

    private final MutableClock clock = new MutableClock(START);
    private final FakeDrainer drainer = new FakeDrainer();
    private final FakeEvacuator evacuator = new FakeEvacuator();
    private final RecordingOutcomes outcomes = new RecordingOutcomes();
    private final PredictionBook book = new PredictionBook(0.8, HOLD_DOWN, drainer, evacuator, outcomes, Runnable::run, clock);

    private Prediction prediction(String node, double confidence, PredictionSource source, String key, Duration within) {
        return Prediction.within(node, within, clock.instant(), confidence, source, "DIMM errors", key);
    }

    private Prediction alert(String node, String fingerprint) {
        return prediction(node, 0.9, PredictionSource.ALERTMANAGER, "alertmanager:" + fingerprint, Duration.ofMinutes(10));
    }

    @Test
    void belowTheThresholdAPredictionIsRecordedOnly() {
        Decision decision = book.submit(prediction("node2", 0.79, PredictionSource.HTTP, "http:node2", Duration.ofMinutes(5)));

        assertEquals(Decision.RECORDED, decision);
        assertEquals(List.of(), drainer.calls);
        assertEquals(List.of(), evacuator.evacuations);
        assertEquals(List.of("http recorded"), outcomes.all());
        assertEquals(1, book.snapshot().recentlyRecorded().size());
        assertEquals(List.of(), book.snapshot().evacuating());
    }

    @Test
    void atTheThresholdTheNodeIsDrainedWithAReasonNamingThePredictionAndEvacuated() {
        Decision decision = book.submit(prediction("node2", 0.8, PredictionSource.HTTP, "http:node2", Duration.ofMinutes(5)));

        assertEquals(Decision.EVACUATION_STARTED, decision);
        assertEquals(List.of("drain node2"), drainer.calls);
        String reason = drainer.drainReasons.get("node2");
        assertTrue(reason.startsWith("lifeboat: failure predicted by 2026-03-01T12:05:00Z (http: DIMM errors)"), reason);
        assertEquals(List.of(new Evacuation("node2", START.plus(Duration.ofMinutes(5)), "DIMM errors", PredictionSource.HTTP)),
                evacuator.evacuations);
        assertEquals(List.of("http evacuation-started"), outcomes.all());
    }

    @Test
    void aNodeIsUnderEvacuationFromItsPredictionUntilTheHoldDownAfterItsWithdrawal() {
        assertFalse(book.evacuating("node2"));
        book.submit(prediction("node3", 0.5, PredictionSource.HTTP, "http:node3", Duration.ofMinutes(5)));
        assertFalse(book.evacuating("node3"), "a prediction below the threshold evacuates nothing");

        book.submit(alert("node2", "a1b2"));
        assertTrue(book.evacuating("node2"));
        assertFalse(book.evacuating("node1"));

        book.withdraw("node2", "alertmanager:a1b2", PredictionSource.ALERTMANAGER);
        assertTrue(book.evacuating("node2"), "during the hold-down");
        clock.advance(HOLD_DOWN);
        book.expireHoldDowns();
        assertFalse(book.evacuating("node2"));
    }

    @Test
    void theSameAlertRepeatedCausesOneEvacuation() {
        for (int repeat = 0; repeat < 5; repeat++) {
            book.submit(alert("node2", "a1b2"));
            clock.advance(Duration.ofMinutes(1));
        }

        assertEquals(1, evacuator.evacuationsOf("node2"));
        assertEquals(List.of("drain node2"), drainer.calls);
        assertEquals(4, outcomes.all().stream().filter(o -> o.equals("alertmanager deduplicated")).count());
        assertEquals(1, book.snapshot().evacuating().get(0).predictions().size());
    }

    @Test
    void predictionsFromTwoSourcesCauseOneEvacuationAndBothMustBeWithdrawn() {
        book.submit(alert("node2", "a1b2"));
        assertEquals(Decision.DEDUPLICATED,
                book.submit(prediction("node2", 0.9, PredictionSource.EDAC, "edac:node2", Duration.ofMinutes(30))));

        assertEquals(Decision.STILL_PREDICTED, book.withdraw("node2", "alertmanager:a1b2", PredictionSource.ALERTMANAGER));
        clock.advance(HOLD_DOWN.multipliedBy(2));
        book.expireHoldDowns();

        assertEquals(1, evacuator.evacuations.size());
        assertEquals(List.of(), evacuator.cancellations);
        assertTrue(drainer.isDrained("node2"));
    }

    @Test
    void anEarlierDeadlineFromALaterPredictionIsPassedOnALaterOneIsNot() {
        book.submit(prediction("node2", 0.9, PredictionSource.EDAC, "edac:node2", Duration.ofMinutes(30)));
        book.submit(alert("node2", "late"));
        book.submit(prediction("node2", 0.9, PredictionSource.IPMI, "ipmi:node2", Duration.ofHours(2)));

        assertEquals(List.of("node2 " + START.plus(Duration.ofMinutes(10))), evacuator.advances);
        assertEquals(START.plus(Duration.ofMinutes(10)), book.snapshot().evacuating().get(0).deadline());
    }

    @Test
    void aWithdrawalBeforeAnyMigrationCancelsAfterTheHoldDownAndUndoesLifeboatsDrain() {
        book.submit(alert("node2", "a1b2"));

        assertEquals(Decision.HELD_DOWN, book.withdraw("node2", "alertmanager:a1b2", PredictionSource.ALERTMANAGER));
        clock.advance(HOLD_DOWN.minusSeconds(1));
        book.expireHoldDowns();
        assertEquals(List.of(), evacuator.cancellations, "still within the hold-down");

        clock.advance(Duration.ofSeconds(1));
        book.expireHoldDowns();

        assertEquals(List.of("node2"), evacuator.cancellations);
        assertEquals(List.of("drain node2", "undrain node2"), drainer.calls);
        assertFalse(drainer.isDrained("node2"));
        assertEquals(List.of("alertmanager evacuation-started", "alertmanager cancelled"), outcomes.all());
        assertEquals(List.of(), book.snapshot().evacuating());
    }

    @Test
    void aFlappingAlertCausesOneEvacuationAndNoCancellation() {
        for (int flap = 0; flap < 4; flap++) {
            book.submit(alert("node2", "flappy"));
            clock.advance(Duration.ofSeconds(30));
            book.withdraw("node2", "alertmanager:flappy", PredictionSource.ALERTMANAGER);
            clock.advance(Duration.ofSeconds(30));
            book.expireHoldDowns();
        }
        book.submit(alert("node2", "flappy"));

        assertEquals(1, evacuator.evacuations.size());
        assertEquals(List.of(), evacuator.cancellations);
        assertEquals(List.of("drain node2"), drainer.calls);
        assertNull(book.snapshot().evacuating().get(0).quietSince());
    }

    @Test
    void afterTheHoldDownANewPredictionIsANewEvacuation() {
        book.submit(alert("node2", "a1b2"));
        book.withdraw("node2", "alertmanager:a1b2", PredictionSource.ALERTMANAGER);
        clock.advance(HOLD_DOWN);
        book.expireHoldDowns();

        assertEquals(Decision.EVACUATION_STARTED, book.submit(alert("node2", "a1b2")));
        assertEquals(2, evacuator.evacuations.size());
        assertEquals(List.of("drain node2", "undrain node2", "drain node2"), drainer.calls);
    }

    @Test
    void aPredictionAfterTheAdministratorResumedTheNodeStartsANewEvacuation() {
        // predict -> jobs moved -> the node is resumed and runs new jobs -> predict again: they must move too.
        book.submit(alert("node2", "a1b2"));
        clock.advance(Duration.ofMinutes(1));
        drainer.resumeAsAdministrator("node2");

        assertEquals(Decision.EVACUATION_STARTED, book.submit(alert("node2", "a1b2")));
        assertEquals(2, evacuator.evacuationsOf("node2"));
        assertEquals(List.of("drain node2", "drain node2"), drainer.calls);
        assertEquals(List.of("node2"), evacuator.cancellations);
        assertEquals(1, book.snapshot().evacuating().size());
    }

    @Test
    void aNodeTheAdministratorResumedIsNoLongerUnderEvacuation() {
        // Its new jobs must not look stuck on a node being emptied (LifeboatEvacuationStuck).
        book.submit(alert("node2", "a1b2"));
        book.submit(alert("node3", "c3d4"));
        book.endCasesBackInService();
        assertTrue(book.evacuating("node2"), "drained by the case: still under evacuation");

        drainer.resumeAsAdministrator("node2");
        book.endCasesBackInService();

        assertFalse(book.evacuating("node2"));
        assertTrue(book.evacuating("node3"));
        assertEquals(List.of("node2"), evacuator.cancellations);
        assertEquals(List.of("drain node2", "drain node3"), drainer.calls, "the administrator's resume is never undone");
        assertEquals(Decision.EVACUATION_STARTED, book.submit(alert("node2", "a1b2")), "the next prediction protects its new jobs");
    }

    @Test
    void aNodeWhoseDrainFailedIsNotTakenForResumed() {
        drainer.failDrains = true;
        book.submit(alert("node2", "a1b2"));

        book.endCasesBackInService();

        assertTrue(book.evacuating("node2"), "never drained, so never resumed: its jobs are still being moved");
        assertEquals(List.of(), evacuator.cancellations);
    }

    @Test
    void aPredictionAfterTheDeadlineStartsANewEvacuationEvenOnADrainedNode() {
        book.submit(alert("node2", "a1b2"));
        clock.advance(Duration.ofMinutes(10));

        assertEquals(Decision.EVACUATION_STARTED, book.submit(alert("node2", "a1b2")));
        assertEquals(2, evacuator.evacuationsOf("node2"));
    }

    @Test
    void aRepeatedPredictionBeforeTheDeadlineWhileTheNodeIsDrainedJoinsTheEvacuation() {
        book.submit(alert("node2", "a1b2"));
        clock.advance(Duration.ofMinutes(9));

        assertEquals(Decision.DEDUPLICATED, book.submit(alert("node2", "a1b2")));
        assertEquals(1, evacuator.evacuationsOf("node2"));
        assertEquals(List.of(), evacuator.cancellations);
    }

    @Test
    void anAdministratorsDrainIsNeverTakenOverNorUndone() {
        drainer.drainAsAdministrator("node2", "bad fan, ticket 4711");
        book.submit(alert("node2", "a1b2"));
        book.withdraw("node2", "alertmanager:a1b2", PredictionSource.ALERTMANAGER);
        clock.advance(HOLD_DOWN);
        book.expireHoldDowns();

        assertEquals(List.of(), drainer.calls, "neither drained nor undrained");
        assertEquals("bad fan, ticket 4711", drainer.drainReasons.get("node2"));
        assertEquals(1, evacuator.evacuations.size(), "the jobs are still moved");
        assertEquals(List.of("node2"), evacuator.cancellations);
    }

    @Test
    void anAdministratorWhoDrainsTheNodeMeanwhileKeepsThatDrain() {
        book.submit(alert("node2", "a1b2"));
        drainer.drainAsAdministrator("node2", "memory test scheduled");
        book.withdraw("node2", "alertmanager:a1b2", PredictionSource.ALERTMANAGER);
        clock.advance(HOLD_DOWN);
        book.expireHoldDowns();

        assertEquals(List.of("drain node2"), drainer.calls);
        assertEquals("memory test scheduled", drainer.drainReasons.get("node2"));
    }

    @Test
    void aCancellationAfterMigrationsStartedLeavesTheNodeDrained() {
        book.submit(alert("node2", "a1b2"));
        evacuator.migrationsStarted.add("node2");
        book.withdraw("node2", "alertmanager:a1b2", PredictionSource.ALERTMANAGER);
        clock.advance(HOLD_DOWN);
        book.expireHoldDowns();

        assertEquals(List.of("node2"), evacuator.cancellations);
        assertEquals(List.of("drain node2"), drainer.calls);
        assertTrue(drainer.isDrained("node2"));
        assertEquals("alertmanager cancelled-after-migration", outcomes.all().get(outcomes.all().size() - 1));
    }

    @Test
    void withoutAHoldDownAWithdrawalCancelsAtOnce() {
        PredictionBook immediate = new PredictionBook(0.8, Duration.ZERO, drainer, evacuator, outcomes, Runnable::run, clock);
        immediate.submit(alert("node3", "x"));

        assertEquals(Decision.CANCELLING, immediate.withdraw("node3", "alertmanager:x", PredictionSource.ALERTMANAGER));
        assertEquals(List.of("node3"), evacuator.cancellations);
        assertFalse(drainer.isDrained("node3"));
    }

    @Test
    void withdrawAllWithdrawsEverySourceOfTheNode() {
        book.submit(alert("node2", "a"));
        book.submit(prediction("node2", 1.0, PredictionSource.EDAC, "edac:node2", Duration.ofMinutes(30)));

        assertEquals(Decision.HELD_DOWN, book.withdrawAll("node2", PredictionSource.CLI));
        clock.advance(HOLD_DOWN);
        book.expireHoldDowns();

        assertEquals(List.of("node2"), evacuator.cancellations);
        assertEquals("cli cancelled", outcomes.all().get(outcomes.all().size() - 1));
    }

    @Test
    void withdrawingWhatIsNotActiveChangesNothing() {
        book.submit(prediction("node2", 0.1, PredictionSource.HTTP, "http:node2", Duration.ofMinutes(5)));

        assertEquals(Decision.NOTHING_TO_WITHDRAW, book.withdraw("node2", "http:node2", PredictionSource.HTTP));
        assertEquals(Decision.NOTHING_TO_WITHDRAW, book.withdraw("node9", "alertmanager:x", PredictionSource.ALERTMANAGER));
        assertEquals(Decision.NOTHING_TO_WITHDRAW, book.withdrawAll("node9", PredictionSource.CLI));
        assertEquals(List.of(), drainer.calls);
        assertEquals(List.of(), evacuator.cancellations);
    }

    @Test
    void aFailedDrainIsCountedAndTheJobsAreEvacuatedAnyway() {
        drainer.failDrains = true;
        book.submit(alert("node2", "a1b2"));
        book.withdraw("node2", "alertmanager:a1b2", PredictionSource.ALERTMANAGER);
        clock.advance(HOLD_DOWN);
        book.expireHoldDowns();

        assertEquals(1, evacuator.evacuations.size());
        assertEquals(List.of("drain node2"), drainer.calls, "what Lifeboat did not drain it does not undrain");
        assertEquals(List.of("alertmanager drain-failed", "alertmanager evacuation-started", "alertmanager cancelled"), outcomes.all());
    }

    @Test
    void aFailingEvacuatorIsCountedAndANodeWhoseCancellationFailedStaysDrained() {
        Evacuator failing = new Evacuator() {
            @Override
            public void evacuate(Evacuation evacuation) throws NodeActionException {
                throw new NodeActionException("no agent on " + evacuation.node());
            }

            @Override
            public void deadlineAdvanced(String node, Instant deadline) throws NodeActionException {
                throw new NodeActionException("no agent on " + node);
            }

            @Override
            public Cancellation cancel(String node) throws NodeActionException {
                throw new NodeActionException("no agent on " + node);
            }
        };
        PredictionBook failingBook = new PredictionBook(0.8, HOLD_DOWN, drainer, failing, outcomes, Runnable::run, clock);
        failingBook.submit(alert("node2", "late"));
        failingBook.submit(prediction("node2", 1.0, PredictionSource.EDAC, "edac:node2", Duration.ofMinutes(1)));
        failingBook.withdrawAll("node2", PredictionSource.CLI);
        clock.advance(HOLD_DOWN);
        failingBook.expireHoldDowns();

        assertTrue(drainer.isDrained("node2"));
        assertEquals(List.of("alertmanager evacuation-failed", "edac deduplicated", "edac evacuation-failed", "cli evacuation-failed"),
                outcomes.all());
    }

    @Test
    void theRecentListKeepsTheNewestLowConfidencePredictions() {
        for (int i = 0; i < PredictionBook.RECENTLY_RECORDED + 10; i++) {
            book.submit(prediction("node2", 0.5, PredictionSource.HTTP, "http:node2", Duration.ofMinutes(i)));
        }

        List<Prediction> recent = book.snapshot().recentlyRecorded();
        assertEquals(PredictionBook.RECENTLY_RECORDED, recent.size());
        assertEquals(START.plus(Duration.ofMinutes(PredictionBook.RECENTLY_RECORDED + 9)), recent.get(recent.size() - 1).deadline());
    }

    @Test
    void theActivePredictionsOfANodeAreBounded() {
        for (int i = 0; i < PredictionBook.MAX_PREDICTIONS_PER_NODE * 2; i++) {
            book.submit(alert("node2", "fingerprint" + i));
        }

        assertEquals(PredictionBook.MAX_PREDICTIONS_PER_NODE, book.snapshot().evacuating().get(0).predictions().size());
        assertEquals(1, evacuator.evacuations.size());
    }

    @Test
    void concurrentPredictionsFromManyThreadsStillMakeOneEvacuationPerNode() throws Exception {
        ExecutorService actions = Executors.newSingleThreadExecutor();
        PredictionBook shared = new PredictionBook(0.8, HOLD_DOWN, drainer, evacuator, outcomes, actions, clock);
        ExecutorService senders = Executors.newFixedThreadPool(8);
        for (int i = 0; i < 800; i++) {
            String node = "node" + (i % 4);
            String fingerprint = "f" + (i % 7);
            senders.execute(() -> shared.submit(alert(node, fingerprint)));
        }
        senders.shutdown();
        assertTrue(senders.awaitTermination(30, TimeUnit.SECONDS));
        actions.shutdown();
        assertTrue(actions.awaitTermination(30, TimeUnit.SECONDS));

        for (int node = 0; node < 4; node++) {
            assertEquals(1, evacuator.evacuationsOf("node" + node));
        }
        assertEquals(4, drainer.calls.size());
    }
}
