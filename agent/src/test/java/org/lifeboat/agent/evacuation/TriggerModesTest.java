package org.lifeboat.agent.evacuation;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.lifeboat.agent.migration.TransferMode;

class TriggerModesTest {

    private final TriggerModes postCopyForDrainsDisklessForPredictions =
            new TriggerModes(TransferMode.POST_COPY, TransferMode.DISKLESS);
    private final TriggerModes postCopyForBoth = new TriggerModes(TransferMode.POST_COPY, TransferMode.POST_COPY);

    @Test
    void aDrainMovesItsJobsInTheDrainsMode() {
        assertEquals(TransferMode.POST_COPY, postCopyForDrainsDisklessForPredictions.forJob(false, false));
        assertEquals(TransferMode.POST_COPY, postCopyForDrainsDisklessForPredictions.forJob(false, true),
                "a drain has no deadline to miss");
    }

    @Test
    void onceAFailureIsPredictedEveryJobMovesInThePredictionsModeEvenThoseTheDrainFinds() {
        assertEquals(TransferMode.DISKLESS, postCopyForDrainsDisklessForPredictions.forJob(true, false));
        assertEquals(TransferMode.POST_COPY, postCopyForBoth.forJob(true, false));
    }

    @Test
    void aJobWhoseMemoryCannotCrossBeforeTheDeadlineIsNeverMovedPostCopy() {
        assertEquals(TransferMode.DISKLESS, postCopyForBoth.forJob(true, true));
        assertEquals(TransferMode.SHARED_FS, new TriggerModes(TransferMode.DISKLESS, TransferMode.SHARED_FS).forJob(true, true),
                "other modes fail before the point of no return: the plan's verdict does not change them");
    }
}
