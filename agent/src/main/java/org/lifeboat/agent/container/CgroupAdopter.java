package org.lifeboat.agent.container;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Moves a restored container into the cgroups of a Slurm step, so that Slurm tracks it as the job's
 * own: {@code scontrol listpids} shows it, {@code scancel} and the job's end kill it, and its limits
 * apply. CRIU restores it in the agent's cgroups ({@code --manage-cgroups=ignore}); the step's
 * cgroups only exist once Slurm has started the requeued job, so the move comes then.
 */
public final class CgroupAdopter {

    private final Path proc;

    public CgroupAdopter(Path proc) {
        this.proc = Objects.requireNonNull(proc, "proc");
    }

    /**
     * Moves every process into each cgroup of the task's that belongs to Slurm's tree for the job
     * (a path holding {@code /job_ID/}); returns how many cgroups it joined.
     */
    public int adopt(List<Long> pids, long taskPid, long jobId) throws IOException {
        Map<Set<String>, Path> hierarchies = hierarchies();
        String jobComponent = "/job_" + jobId + "/";
        int joined = 0;
        for (String line : Files.readAllLines(proc.resolve(Long.toString(taskPid)).resolve("cgroup"))) {
            // "ID:CONTROLLERS:PATH"; the unified (v2) hierarchy has ID 0 and no controllers.
            String[] parts = line.split(":", 3);
            if (parts.length != 3 || !(parts[2] + "/").contains(jobComponent)) {
                continue;
            }
            Set<String> controllers = parts[1].isEmpty() ? Set.of() : Set.of(parts[1].split(","));
            Path mount = hierarchies.get(controllers);
            if (mount == null) {
                throw new IOException("no mount of the cgroup hierarchy '" + parts[1] + "' of task " + taskPid
                        + " in " + proc.resolve("self/mountinfo"));
            }
            Path procs = mount.resolve(parts[2].substring(1)).resolve("cgroup.procs");
            for (long pid : pids) {
                try {
                    Files.writeString(procs, Long.toString(pid));
                } catch (NoSuchFileException e) {
                    throw new IOException("cannot move pid " + pid + " into " + procs + ": it does not exist", e);
                }
            }
            joined++;
        }
        return joined;
    }

    /** Each mounted cgroup hierarchy by its controllers (v1: from the super options; v2: the empty set). */
    private Map<Set<String>, Path> hierarchies() throws IOException {
        Map<Set<String>, Path> mounts = new HashMap<>();
        for (String line : Files.readAllLines(proc.resolve("self/mountinfo"))) {
            int separator = line.indexOf(" - ");
            if (separator < 0) {
                continue;
            }
            String[] before = line.substring(0, separator).split(" ");
            String[] after = line.substring(separator + 3).split(" ");
            if (before.length < 5 || after.length < 3) {
                continue;
            }
            Path mountPoint = Path.of(before[4].replace("\\040", " "));
            if (after[0].equals("cgroup2")) {
                mounts.putIfAbsent(Set.of(), mountPoint);
            } else if (after[0].equals("cgroup")) {
                Set<String> controllers = new HashSet<>(Arrays.asList(after[2].split(",")));
                controllers.removeAll(Set.of("rw", "ro", "xattr", "noprefix", "clone_children", "cpuset_v2_mode"));
                controllers.removeIf(option -> option.startsWith("release_agent="));
                mounts.putIfAbsent(Set.copyOf(controllers), mountPoint);
            }
        }
        return mounts;
    }
}
