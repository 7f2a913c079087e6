package org.lifeboat.agent.registry;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A migratable job with work on this node.
 *
 * @param job Slurm's job id
 * @param uid the job owner's uid: only they and root may see or act on the job
 * @param gid the job's primary group
 * @param steps the job's steps running here, by step id
 * @param registered when the first step was registered
 */
public record JobRecord(
        @JsonProperty("job") long job,
        @JsonProperty("uid") int uid,
        @JsonProperty("gid") int gid,
        @JsonProperty("steps") Map<String, StepRecord> steps,
        @JsonProperty("registered") Instant registered) {

    public JobRecord {
        steps = Map.copyOf(new TreeMap<>(Objects.requireNonNull(steps, "steps")));
        Objects.requireNonNull(registered, "registered");
    }

    JobRecord withStep(StepRecord step) {
        Map<String, StepRecord> updated = new TreeMap<>(steps);
        updated.put(step.step(), step);
        return new JobRecord(job, uid, gid, updated, registered);
    }

    JobRecord withoutStep(String step) {
        Map<String, StepRecord> updated = new TreeMap<>(steps);
        updated.remove(step);
        return new JobRecord(job, uid, gid, updated, registered);
    }
}
