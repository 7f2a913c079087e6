package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** A staying part's word from its coordinator, or, unheard, from Slurm. */
class InPlaceHandoverTest {

    private final CompletableFuture<Void> ready = new CompletableFuture<>();
    private final CompletableFuture<Boolean> decision = new CompletableFuture<>();
    private final List<Integer> slurmAsked = new ArrayList<>();

    private InPlaceHandover handover(boolean requeuedMeanwhile) {
        return new InPlaceHandover("node1", ready, decision, Duration.ofMillis(50), 0, restarts -> {
            slurmAsked.add(restarts);
            return requeuedMeanwhile;
        });
    }

    @Test
    void itSaysReadyAndGoesOnWhenTheCoordinatorRequeuedTheJob() throws Exception {
        decision.complete(true);

        handover(false).requeue(42);

        assertTrue(ready.isDone());
        assertEquals(List.of(), slurmAsked);
    }

    @Test
    void aMoveCalledOffRollsThePartBack() {
        decision.complete(false);

        IOException error = assertThrows(IOException.class, () -> handover(true).requeue(42));

        assertTrue(error.getMessage().contains("node1 called the move"), error.getMessage());
        assertTrue(ready.isDone());
    }

    @Test
    void unheardItAsksSlurmAndResumesItsCopyOfAJobRequeuedMeanwhile() throws Exception {
        handover(true).requeue(42);

        assertEquals(List.of(0), slurmAsked);
    }

    @Test
    void unheardAndNotRequeuedItGoesOnAsItWas() {
        assertThrows(IOException.class, () -> handover(false).requeue(42));

        assertEquals(List.of(0), slurmAsked);
    }

    @Test
    void theCoordinatorPlacesTheJobNotThePart() {
        handover(false).place(42, "node2", "node2", 10);

        assertEquals(List.of(), slurmAsked);
    }
}
