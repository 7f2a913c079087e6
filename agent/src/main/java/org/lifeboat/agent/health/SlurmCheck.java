package org.lifeboat.agent.health;

import java.util.Objects;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.slurm.SlurmClient;

/**
 * slurmctld, asked as the agent asks it everything else: {@code scontrol ping} from this node. Without
 * it the agent sees no drain, finds no target and cannot requeue a moved job.
 */
public final class SlurmCheck implements DependencyCheck {

    private final SlurmClient slurm;

    public SlurmCheck(SlurmClient slurm) {
        this.slurm = Objects.requireNonNull(slurm, "slurm");
    }

    @Override
    public DependencyState check() {
        try {
            return DependencyState.ready(slurm.ping());
        } catch (CommandException e) {
            return DependencyState.notReady(e.getMessage());
        }
    }
}
