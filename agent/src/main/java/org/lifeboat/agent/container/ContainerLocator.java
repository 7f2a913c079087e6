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
 */
public final class ContainerLocator {

    static final String MANIFEST = "manifest.json";
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

    /** The first container found below any of these task pids, with the pid of the lifeboat-run that started it. */
    public Optional<LocatedContainer> find(Collection<Long> taskPids) throws IOException {
        Deque<Long> pending = new ArrayDeque<>(taskPids);
        Set<Long> visited = new HashSet<>();
        while (!pending.isEmpty() && visited.size() < MAX_PROCESSES_VISITED) {
            long pid = pending.removeFirst();
            if (!visited.add(pid)) {
                continue;
            }
            Path manifest = containersDirectory.resolve(Long.toString(pid)).resolve(MANIFEST);
            if (Files.isRegularFile(manifest)) {
                ContainerManifest parsed = read(manifest);
                if (parsed.version() != ContainerManifest.SUPPORTED_VERSION) {
                    throw new IOException(manifest + " has manifest version " + parsed.version() + "; this agent reads "
                            + ContainerManifest.SUPPORTED_VERSION);
                }
                return Optional.of(new LocatedContainer(pid, parsed));
            }
            pending.addAll(children(pid));
        }
        return Optional.empty();
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

    /** Children of every thread of the process (Linux lists them per thread). */
    private Set<Long> children(long pid) throws IOException {
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
