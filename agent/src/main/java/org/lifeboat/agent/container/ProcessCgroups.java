package org.lifeboat.agent.container;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A process's cgroups as {@code /proc/PID/cgroup} lists them, and whether they are the ones Slurm
 * made for a job.
 *
 * <p>cgroup v1 lists a line {@code ID:CONTROLLERS:PATH} per hierarchy (with the unified hierarchy
 * mounted beside the controllers, "hybrid", also a {@code 0::PATH} line); Slurm's cgroup/v1 puts a
 * job's processes in {@code ROOT/uid_U/job_J/step_S} of each controller's hierarchy, and a path
 * holding {@code job_J} as a whole component is job J's. cgroup v2 alone lists the single line
 * {@code 0::PATH}; Slurm's cgroup/v2 puts them in
 * {@code /system.slice/slurmstepd.scope/job_J/step_S/user/task_N} (src/plugins/cgroup/v2/cgroup_v2.c),
 * and the job's directory counts only there: right below a slurmstepd scope below a slice. Users
 * own delegated subtrees on v2 (systemd's {@code user@UID.service}) and name directories in them
 * as they like, {@code job_J} too, but those lie deeper. lifeboat-run decides the same way
 * (launcher/src/cgroup.c).
 *
 * @param lines the lines in order
 */
public record ProcessCgroups(List<Line> lines) {

    private static final Pattern V2_JOB_DIRECTORY = Pattern.compile("^/[^/]+/(?:[^/]+_)?slurmstepd\\.scope/job_(\\d+)(?:/|$)");

    /**
     * One hierarchy of the process.
     *
     * @param hierarchy the hierarchy's id, 0 for the unified (v2) one
     * @param controllers the v1 controllers, comma-separated; empty for v2
     * @param path the process's cgroup, from the hierarchy's root
     */
    public record Line(String hierarchy, String controllers, String path) {}

    public ProcessCgroups {
        lines = List.copyOf(lines);
    }

    /** The cgroups of process PID; empty once it has ended. */
    public static Optional<ProcessCgroups> of(Path proc, long pid) throws IOException {
        try {
            return Optional.of(parse(Files.readString(proc.resolve(Long.toString(pid)).resolve("cgroup"))));
        } catch (NoSuchFileException ended) {
            return Optional.empty();
        }
    }

    public static ProcessCgroups parse(String text) {
        List<Line> lines = new ArrayList<>();
        for (String line : text.split("\n")) {
            String[] parts = line.split(":", 3);
            if (parts.length == 3) {
                lines.add(new Line(parts[0], parts[1], parts[2]));
            }
        }
        return new ProcessCgroups(lines);
    }

    /** Whether the node runs cgroup v2 alone: the unified hierarchy is the process's only one. */
    public boolean unified() {
        return lines.size() == 1 && lines.get(0).hierarchy().equals("0") && lines.get(0).controllers().isEmpty();
    }

    /** The lines whose path lies in job {@code jobId}'s cgroup, where Slurm puts the job's processes (see above). */
    public List<Line> inJob(long jobId) {
        boolean v2 = unified();
        return lines.stream().filter(line -> v2 ? isV2JobPath(line.path(), jobId) : (line.path() + "/").contains("/job_" + jobId + "/"))
                .toList();
    }

    /** Whether the process is in job {@code jobId}'s cgroup in some hierarchy. */
    public boolean isInJob(long jobId) {
        return !inJob(jobId).isEmpty();
    }

    private static boolean isV2JobPath(String path, long jobId) {
        var matcher = V2_JOB_DIRECTORY.matcher(path);
        return matcher.find() && matcher.group(1).equals(Long.toString(jobId));
    }
}
