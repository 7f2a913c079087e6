package org.lifeboat.agent.slurm;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the agent needs to know of a job from {@code scontrol --oneliner show job}: where it may run
 * (for choosing a target the way Slurm would) and whether Slurm can requeue it.
 *
 * @param memoryPerNode {@code MinMemoryNode}, e.g. "4G", or null when memory is asked per CPU
 * @param memoryPerCpu {@code MinMemoryCPU}, e.g. "256M", or null
 * @param features the job's constraint expression, or null
 */
public record SlurmJob(long id, String state, String partition, String nodeList, int nodeCount, int cpus,
                       String memoryPerNode, String memoryPerCpu, String features, boolean batch, boolean requeueable,
                       int restarts, String adminComment) {

    // Keys whose values never hold spaces; Command=, WorkDir=, Comment= and friends may, and are not read.
    private static final Pattern FIELD = Pattern.compile("(?:^|\\s)([A-Za-z:/]+)=(\\S*)");

    /**
     * What one node of the job holds, for choosing a node to take one node's part: its CPUs shared
     * out over its nodes (memory is asked per node or per CPU already).
     */
    public SlurmJob onePart() {
        int cpusPerNode = nodeCount <= 1 ? cpus : (cpus + nodeCount - 1) / nodeCount;
        return new SlurmJob(id, state, partition, nodeList, 1, cpusPerNode, memoryPerNode, memoryPerCpu, features, batch, requeueable,
                restarts, adminComment);
    }

    /** Parses one job's line of {@code scontrol --oneliner show job ID}. */
    public static SlurmJob parse(String line) {
        Map<String, String> fields = new HashMap<>();
        Matcher matcher = FIELD.matcher(line.strip());
        while (matcher.find()) {
            fields.putIfAbsent(matcher.group(1), matcher.group(2));
        }
        String id = require(fields, "JobId", line);
        return new SlurmJob(Long.parseLong(id), require(fields, "JobState", line), require(fields, "Partition", line),
                present(fields.get("NodeList")).orElse(null), integer(fields.get("NumNodes"), 1),
                integer(fields.get("NumCPUs"), 1), present(fields.get("MinMemoryNode")).orElse(null),
                present(fields.get("MinMemoryCPU")).orElse(null), present(fields.get("Features")).orElse(null),
                "1".equals(fields.get("BatchFlag")), "1".equals(fields.get("Requeue")), integer(fields.get("Restarts"), 0),
                present(fields.get("AdminComment")).orElse(null));
    }

    private static String require(Map<String, String> fields, String key, String line) {
        String value = fields.get(key);
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("scontrol printed no " + key + " for the job: " + line.strip());
        }
        return value;
    }

    /** Slurm prints an unset field as "(null)", and memory it does not ask for as "0". */
    private static Optional<String> present(String value) {
        if (value == null || value.isEmpty() || value.equals("(null)") || value.equals("0")) {
            return Optional.empty();
        }
        return Optional.of(value);
    }

    private static int integer(String value, int fallback) {
        // NumNodes may read "1-1" or "1" and NumCPUs "1-1" on some releases: the lower bound is what runs.
        if (value == null || value.isEmpty()) {
            return fallback;
        }
        String lower = value.split("-", 2)[0];
        return lower.matches("[0-9]+") ? Integer.parseInt(lower) : fallback;
    }
}
