package org.lifeboat.agent.registry;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.logging.Logger;
import org.lifeboat.agent.container.ContainerManifest;

/**
 * The migratable work on this node. Every change is saved before it is acknowledged, so an agent
 * restarted at any moment finds every job it had confirmed to slurmstepd.
 */
public final class JobRegistry {

    private static final Logger LOG = Logger.getLogger(JobRegistry.class.getName());

    private final RegistryStore store;
    private final Clock clock;
    private final Map<Long, JobRecord> jobs = new TreeMap<>();

    /** Loads what the store holds. */
    public JobRegistry(RegistryStore store, Clock clock) throws IOException {
        this.store = Objects.requireNonNull(store, "store");
        this.clock = Objects.requireNonNull(clock, "clock");
        for (JobRecord job : store.load()) {
            jobs.put(job.job(), job);
        }
    }

    public synchronized List<JobRecord> jobs() {
        return List.copyOf(jobs.values());
    }

    public synchronized Optional<JobRecord> job(long jobId) {
        return Optional.ofNullable(jobs.get(jobId));
    }

    /**
     * A step of a job started on this node. Registering the same step again (slurmstepd retrying
     * after a lost reply) replaces it; a step claiming another owner for a known job is refused.
     */
    public synchronized JobRecord stepStarted(long jobId, int uid, int gid, String step, int restartCount, int taskCount)
            throws RegistryException, IOException {
        JobRecord job = jobs.get(jobId);
        if (job == null) {
            job = new JobRecord(jobId, uid, gid, Map.of(), now());
        } else if (job.uid() != uid || job.gid() != gid) {
            throw new RegistryException(RegistryException.Reason.CONFLICT, "job " + jobId + " is registered for uid " + job.uid() + " gid "
                    + job.gid() + ", not uid " + uid + " gid " + gid);
        }
        return commit(job.withStep(new StepRecord(step, restartCount, taskCount, Map.of(), now())));
    }

    public synchronized JobRecord taskStarted(long jobId, String step, int task, long pid)
            throws RegistryException, IOException {
        JobRecord job = requireJob(jobId);
        StepRecord stepRecord = job.steps().get(step);
        if (stepRecord == null) {
            throw new RegistryException(RegistryException.Reason.UNKNOWN_STEP, "job " + jobId + " has no step " + step + " on this node");
        }
        return commit(job.withStep(stepRecord.withTask(task, pid)));
    }

    /** A step ended; the job stays until its end is reported, since other steps may follow. */
    public synchronized JobRecord stepEnded(long jobId, String step) throws RegistryException, IOException {
        JobRecord job = requireJob(jobId);
        if (!job.steps().containsKey(step)) {
            throw new RegistryException(RegistryException.Reason.UNKNOWN_STEP, "job " + jobId + " has no step " + step + " on this node");
        }
        return commit(job.withoutStep(step));
    }

    /** Keeps a copy of the job's container manifest, found below its task processes. */
    public synchronized JobRecord containerFound(long jobId, ContainerManifest manifest) throws RegistryException, IOException {
        return commit(requireJob(jobId).withContainer(manifest));
    }

    /**
     * A container restored here from another node: the job now has work on this node, though no
     * Slurm step registered it here (yet).
     */
    public synchronized JobRecord restoredHere(long jobId, int uid, int gid, ContainerManifest manifest) throws IOException {
        JobRecord existing = jobs.get(jobId);
        JobRecord job = existing != null ? existing : new JobRecord(jobId, uid, gid, Map.of(), now());
        return commit(job.withContainer(manifest));
    }

    /** The job's container left this node for another: nothing of it remains here. */
    public synchronized void migratedAway(long jobId) throws IOException {
        jobEnded(jobId);
    }

    /** The job ended on this node (its epilog ran). Unknown jobs are fine: the epilog may repeat. */
    public synchronized void jobEnded(long jobId) throws IOException {
        if (jobs.containsKey(jobId)) {
            JobRecord removed = jobs.remove(jobId);
            save(() -> jobs.put(jobId, removed));
        }
    }

    /**
     * Drops every job not in {@code stillRunning}: used at start, when jobs may have ended while the
     * agent was down. Returns the dropped job ids.
     */
    public synchronized List<Long> retainOnly(Set<Long> stillRunning) throws IOException {
        List<Long> dropped = new ArrayList<>();
        for (Long jobId : List.copyOf(jobs.keySet())) {
            if (!stillRunning.contains(jobId)) {
                dropped.add(jobId);
            }
        }
        if (!dropped.isEmpty()) {
            Map<Long, JobRecord> before = new TreeMap<>(jobs);
            dropped.forEach(jobs::remove);
            save(() -> {
                jobs.clear();
                jobs.putAll(before);
            });
        }
        return dropped;
    }

    public synchronized int size() {
        return jobs.size();
    }

    /** Milliseconds are plenty for a registration time, and keep listings readable. */
    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    private JobRecord requireJob(long jobId) throws RegistryException {
        JobRecord job = jobs.get(jobId);
        if (job == null) {
            throw new RegistryException(RegistryException.Reason.UNKNOWN_JOB, "job " + jobId + " is not registered on this node");
        }
        return job;
    }

    private JobRecord commit(JobRecord updated) throws IOException {
        JobRecord previous = jobs.put(updated.job(), updated);
        save(() -> {
            if (previous == null) {
                jobs.remove(updated.job());
            } else {
                jobs.put(previous.job(), previous);
            }
        });
        return updated;
    }

    /** Saves the registry; if that fails, undoes the in-memory change so memory and disk agree. */
    private void save(Runnable undo) throws IOException {
        try {
            store.save(List.copyOf(jobs.values()));
        } catch (IOException e) {
            undo.run();
            LOG.severe("job registry not saved, change refused: " + e.getMessage());
            throw e;
        }
    }
}
