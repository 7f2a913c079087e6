package org.lifeboat.agent.registry;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One job step on this node as its slurmstepd registered it.
 *
 * @param step "batch", "extern", "interactive" or the step number
 * @param restartCount how often Slurm has restarted (requeued) the job so far
 * @param taskCount tasks of the step on this node
 * @param taskPids local task id to the task's pid in this node's pid namespace
 */
public record StepRecord(
        @JsonProperty("step") String step,
        @JsonProperty("restart-count") int restartCount,
        @JsonProperty("task-count") int taskCount,
        @JsonProperty("task-pids") Map<Integer, Long> taskPids,
        @JsonProperty("started") Instant started) {

    public StepRecord {
        Objects.requireNonNull(step, "step");
        taskPids = Map.copyOf(new TreeMap<>(Objects.requireNonNull(taskPids, "taskPids")));
        Objects.requireNonNull(started, "started");
    }

    StepRecord withTask(int task, long pid) {
        Map<Integer, Long> pids = new TreeMap<>(taskPids);
        pids.put(task, pid);
        return new StepRecord(step, restartCount, taskCount, pids, started);
    }
}
