package org.lifeboat.predictor;

import java.io.IOException;

/** Which node names Slurm knows. The agent implements it with Slurm; a prediction for any other name is refused. */
@FunctionalInterface
public interface NodeDirectory {

    /**
     * Whether Slurm has a node of this name. Called with names that already passed {@link NodeNames#isValid}.
     *
     * @throws IOException when Slurm cannot be asked; the intake then answers 503 so the sender retries
     */
    boolean exists(String node) throws IOException;
}
