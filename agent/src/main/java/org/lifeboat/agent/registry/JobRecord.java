package org.lifeboat.agent.registry;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.lifeboat.agent.container.ContainerManifest;

/**
 * A migratable job with work on this node.
 *
 * @param job Slurm's job id
 * @param uid the job owner's uid: only they and root may see or act on the job
 * @param gid the job's primary group
 * @param steps the job's steps running here, by step id
 * @param registered when the first step was registered
 * @param container the job's container as its launcher described it, once found (null before);
 *     the agent keeps this copy because the launcher removes its own when the container ends
 */
public record JobRecord(
        @JsonProperty("job") long job,
        @JsonProperty("uid") int uid,
        @JsonProperty("gid") int gid,
        @JsonProperty("steps") Map<String, StepRecord> steps,
        @JsonProperty("registered") Instant registered,
        @JsonProperty("container") ContainerManifest container) {

    @JsonCreator
    public JobRecord {
        steps = Map.copyOf(new TreeMap<>(Objects.requireNonNull(steps, "steps")));
        Objects.requireNonNull(registered, "registered");
    }

    /** A job whose container is not known yet. */
    public JobRecord(long job, int uid, int gid, Map<String, StepRecord> steps, Instant registered) {
        this(job, uid, gid, steps, registered, null);
    }

    JobRecord withStep(StepRecord step) {
        Map<String, StepRecord> updated = new TreeMap<>(steps);
        updated.put(step.step(), step);
        return new JobRecord(job, uid, gid, updated, registered, container);
    }

    JobRecord withoutStep(String step) {
        Map<String, StepRecord> updated = new TreeMap<>(steps);
        updated.remove(step);
        return new JobRecord(job, uid, gid, updated, registered, container);
    }

    JobRecord withContainer(ContainerManifest manifest) {
        return new JobRecord(job, uid, gid, steps, registered, manifest);
    }
}
