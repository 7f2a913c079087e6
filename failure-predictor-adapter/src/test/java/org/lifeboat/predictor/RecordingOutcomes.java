package org.lifeboat.predictor;

import java.util.ArrayList;
import java.util.List;

/** Keeps every outcome as "source outcome". */
public final class RecordingOutcomes implements PredictionOutcomes {

    private final List<String> recorded = new ArrayList<>();

    @Override
    public synchronized void record(String source, String outcome) {
        recorded.add(source + " " + outcome);
    }

    public synchronized List<String> all() {
        return List.copyOf(recorded);
    }
}
