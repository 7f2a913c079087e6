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
 *
 * <p>On cgroup v1 the container joins the task's cgroup in every hierarchy where it is the job's. On
 * cgroup v2 there is one hierarchy, and a cgroup that hands controllers to children holds no
 * processes (the no-internal-process rule): the container joins the task's own cgroup, which
 * Slurm's cgroup/v2 makes a leaf ({@code .../job_J/step_S/user/task_N}), and any other is refused
 * before a pid moves. The memory the restore already touched stays charged to the agent's cgroup on
 * both (v2 never moves charges; Slurm does not turn on v1's {@code memory.move_charge_at_immigrate}).
 */
public final class CgroupAdopter {

    private final Path proc;

    public CgroupAdopter(Path proc) {
        this.proc = Objects.requireNonNull(proc, "proc");
    }

    /**
     * Moves every process into each cgroup of the task's that belongs to Slurm's tree for the job
     * ({@link ProcessCgroups#inJob}); returns how many cgroups it joined.
     */
    public int adopt(List<Long> pids, long taskPid, long jobId) throws IOException {
        ProcessCgroups task = ProcessCgroups.of(proc, taskPid)
                .orElseThrow(() -> new IOException("task " + taskPid + " of job " + jobId + " has ended"));
        Map<Set<String>, Path> hierarchies = hierarchies();
        int joined = 0;
        for (ProcessCgroups.Line line : task.inJob(jobId)) {
            Set<String> controllers = line.controllers().isEmpty() ? Set.of() : Set.of(line.controllers().split(","));
            Path mount = hierarchies.get(controllers);
            if (mount == null) {
                throw new IOException("no mount of the cgroup hierarchy '" + line.controllers() + "' of task " + taskPid
                        + " in " + proc.resolve("self/mountinfo"));
            }
            Path cgroup = mount.resolve(line.path().substring(1));
            if (task.unified()) {
                requireLeaf(cgroup, taskPid);
            }
            Path procs = cgroup.resolve("cgroup.procs");
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

    /** A v2 cgroup that enables controllers for its children takes no processes: refused before any moves. */
    private static void requireLeaf(Path cgroup, long taskPid) throws IOException {
        String delegated;
        try {
            delegated = Files.readString(cgroup.resolve("cgroup.subtree_control")).strip();
        } catch (NoSuchFileException e) {
            throw new IOException("the cgroup " + cgroup + " of task " + taskPid + " does not exist", e);
        }
        if (!delegated.isEmpty()) {
            throw new IOException("the cgroup " + cgroup + " of task " + taskPid + " enables controllers for its children ("
                    + delegated + "): cgroup v2 puts processes only in leaves, so the restored container cannot join it");
        }
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
