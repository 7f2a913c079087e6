package org.lifeboat.agent.container;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.HashSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.lifeboat.agent.json.AgentJson;

/**
 * Finds the container a job step runs in: {@code lifeboat-run}, somewhere below the step's task
 * processes, keeps its manifest in {@code CONTAINERS/<its pid>/manifest.json}.
 *
 * <p>A manifest outlives a launcher that was SIGKILLed (its init dies with it), and the pid it is
 * filed under, and the init's, can then be reused by anyone's process. So a manifest is taken only
 * if it is the job owner's and names a live init that is still the same process (start time), a
 * child of that launcher, of the owner's uid and in the job's cgroup; the walk goes on past
 * any other.
 */
public final class ContainerLocator {

    static final String MANIFEST = "manifest.json";
    /** What a launcher that started its task in another launcher's container writes in its state directory. */
    static final String TASK = "task";
    // A job's process tree is small; the bound only stops a runaway walk.
    private static final int MAX_PROCESSES_VISITED = 100_000;

    private final Path containersDirectory;
    private final Path proc;
    private final ObjectMapper json = AgentJson.mapper();

    /**
     * @param containersDirectory where lifeboat-run keeps container state (its --state-dir parent)
     * @param proc the proc file system, /proc on a node
     */
    public ContainerLocator(Path containersDirectory, Path proc) {
        this.containersDirectory = Objects.requireNonNull(containersDirectory, "containersDirectory");
        this.proc = Objects.requireNonNull(proc, "proc");
    }

    /** The first container of the job's owner found below any of these task pids, with the pid of the lifeboat-run that started it. */
    public Optional<LocatedContainer> find(Collection<Long> taskPids, long jobId, int uid) throws IOException {
        Deque<Long> pending = new ArrayDeque<>(taskPids);
        Set<Long> visited = new HashSet<>();
        while (!pending.isEmpty() && visited.size() < MAX_PROCESSES_VISITED) {
            long pid = pending.removeFirst();
            if (!visited.add(pid)) {
                continue;
            }
            Optional<LocatedContainer> built = builtBy(pid, jobId, uid);
            if (built.isPresent()) {
                return built;
            }
            Optional<LocatedContainer> joined = joinedBy(pid, jobId, uid);
            if (joined.isPresent()) {
                return joined;
            }
            pending.addAll(children(pid));
        }
        return Optional.empty();
    }

    /** The container this lifeboat-run built, from the manifest in its state directory. */
    private Optional<LocatedContainer> builtBy(long launcherPid, long jobId, int uid) throws IOException {
        Path manifest = containersDirectory.resolve(Long.toString(launcherPid)).resolve(MANIFEST);
        if (!Files.isRegularFile(manifest)) {
            return Optional.empty();
        }
        ContainerManifest parsed = read(manifest);
        if (parsed.version() < ContainerManifest.OLDEST_SUPPORTED_VERSION || parsed.version() > ContainerManifest.SUPPORTED_VERSION) {
            throw new IOException(manifest + " has manifest version " + parsed.version() + "; this agent reads versions "
                    + ContainerManifest.OLDEST_SUPPORTED_VERSION + " to " + ContainerManifest.SUPPORTED_VERSION);
        }
        return isLiveContainerOf(parsed, launcherPid, jobId, uid) ? Optional.of(new LocatedContainer(launcherPid, parsed))
                : Optional.empty();
    }

    /**
     * The job's container this lifeboat-run started its task in, built by another of the job's
     * launchers (launcher/README.md, tasks sharing a container): its state directory's task file
     * names the init by pid and start time, and the launcher that built it is the init's parent.
     */
    private Optional<LocatedContainer> joinedBy(long launcherPid, long jobId, int uid) throws IOException {
        Path task = containersDirectory.resolve(Long.toString(launcherPid)).resolve(TASK);
        String text;
        try {
            text = Files.readString(task);
        } catch (NoSuchFileException notALauncher) {
            return Optional.empty();
        }
        long initPid = field(text, "init-pid=");
        long initStart = field(text, "init-start=");
        if (initPid <= 1) {
            return Optional.empty();
        }
        try {
            long builder = Long.parseLong(statusField(Files.readString(proc.resolve(Long.toString(initPid)).resolve("status")),
                    "PPid:"));
            if (builder == launcherPid) {
                return Optional.empty();
            }
            return builtBy(builder, jobId, uid).filter(found -> found.manifest().initStart() == initStart);
        } catch (NoSuchFileException | NumberFormatException initEnded) {
            return Optional.empty();
        }
    }

    /** A number from a key=value line of a launcher's task file; -1 if absent or not a number. */
    private static long field(String text, String key) {
        try {
            return Long.parseLong(statusField(text, key));
        } catch (NumberFormatException absent) {
            return -1;
        }
    }

    private ContainerManifest read(Path manifest) throws IOException {
        // Refused here rather than when a migration cannot send it: every manifest the agent keeps fits a prepare.
        long size = Files.size(manifest);
        if (size > ContainerManifest.MAX_BYTES) {
            throw new IOException("container manifest " + manifest + " has " + size + " bytes, more than the "
                    + ContainerManifest.MAX_BYTES + " a migration can carry");
        }
        try {
            return json.readValue(manifest.toFile(), ContainerManifest.class);
        } catch (IOException e) {
            throw new IOException("cannot read container manifest " + manifest + ": " + e.getMessage(), e);
        }
    }

    private boolean isLiveContainerOf(ContainerManifest manifest, long launcherPid, long jobId, int uid) throws IOException {
        Path init = proc.resolve(Long.toString(manifest.initPid()));
        try {
            String status = Files.readString(init.resolve("status"));
            return manifest.uid() == uid
                    && ProcessStartTime.of(proc, manifest.initPid()) == manifest.initStart()
                    && statusField(status, "PPid:").equals(Long.toString(launcherPid))
                    && statusField(status, "Uid:").equals(Integer.toString(uid))
                    && ProcessCgroups.of(proc, manifest.initPid()).map(cgroups -> cgroups.isInJob(jobId)).orElse(false);
        } catch (NoSuchFileException initEnded) {
            return false;
        }
    }

    /**
     * The first value after the key that starts a line: of /proc/PID/status ("Uid:" gives the real
     * uid) or of a launcher's task file ("init-pid="); empty if absent.
     */
    private static String statusField(String status, String name) {
        return status.lines().filter(line -> line.startsWith(name)).findFirst()
                .map(line -> line.substring(name.length()).strip().split("\\s+")[0]).orElse("");
    }

    /** Children of every thread of the process (Linux lists them per thread); none once it has ended. */
    public Set<Long> children(long pid) throws IOException {
        Set<Long> children = new HashSet<>();
        Path tasks = proc.resolve(Long.toString(pid)).resolve("task");
        try (var threads = Files.list(tasks)) {
            for (Path thread : (Iterable<Path>) threads::iterator) {
                try {
                    for (String child : Files.readString(thread.resolve("children")).trim().split("\\s+")) {
                        if (!child.isEmpty()) {
                            children.add(Long.parseLong(child));
                        }
                    }
                } catch (NoSuchFileException threadEnded) {
                    // The thread exited while we looked: it has no children to report.
                }
            }
        } catch (NoSuchFileException processEnded) {
            return Set.of();
        }
        return children;
    }

    /**
     * A container and where it was found.
     *
     * @param launcherPid the pid of the lifeboat-run that started it (its state directory's name)
     */
    public record LocatedContainer(long launcherPid, ContainerManifest manifest) {}
}
