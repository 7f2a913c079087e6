package org.lifeboat.agent.registry;

import java.io.IOException;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.logging.Logger;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.slurm.SlurmClient;

/**
 * Brings the registry in line with Slurm when the agent starts: jobs that ended while the agent was
 * down are dropped, running ones kept. If Slurm cannot be asked, nothing is dropped: a job wrongly
 * kept costs a line in `lifeboat status`, a job wrongly dropped could never be migrated.
 */
public final class RegistryReconciler {

    private static final Logger LOG = Logger.getLogger(RegistryReconciler.class.getName());

    private final JobRegistry registry;
    private final SlurmClient slurm;
    private final String nodeName;

    public RegistryReconciler(JobRegistry registry, SlurmClient slurm, String nodeName) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.slurm = Objects.requireNonNull(slurm, "slurm");
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
    }

    public void reconcile() throws IOException {
        if (registry.size() == 0) {
            return;
        }
        Set<Long> active;
        try {
            active = slurm.activeJobsOn(nodeName);
        } catch (CommandException e) {
            LOG.warning("cannot ask Slurm which jobs still run on " + nodeName + "; keeping all "
                    + registry.size() + " registered jobs: " + e.getMessage());
            return;
        }
        List<Long> dropped = registry.retainOnly(active);
        LOG.info("registry reconciled with Slurm: kept " + registry.size() + " jobs"
                + (dropped.isEmpty() ? "" : ", dropped ended jobs " + dropped));
    }
}
