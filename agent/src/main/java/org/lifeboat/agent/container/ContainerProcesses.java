package org.lifeboat.agent.container;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.CommandRunner;

/** The processes of one container: every process in the PID namespace its init leads. */
public final class ContainerProcesses {

    private static final Duration SIGNAL_TIMEOUT = Duration.ofSeconds(10);

    private final Path proc;
    private final CommandRunner commands;

    public ContainerProcesses(Path proc, CommandRunner commands) {
        this.proc = Objects.requireNonNull(proc, "proc");
        this.commands = Objects.requireNonNull(commands, "commands");
    }

    public boolean isAlive(long initPid) {
        try {
            // A zombie has ended: only its exit status is left for its parent.
            return !state(initPid).equals("Z");
        } catch (IOException e) {
            return false;
        }
    }

    /** True when every process of the container is stopped (as CRIU's --leave-stopped leaves them). */
    public boolean allStopped(long initPid) throws IOException {
        List<Long> pids = members(initPid);
        for (long pid : pids) {
            String state = state(pid);
            if (!state.equals("T") && !state.equals("t")) {
                return false;
            }
        }
        return !pids.isEmpty();
    }

    /** Resumes every process of the container: how a failed migration gives the job back. */
    public void resume(long initPid) throws CommandException, IOException {
        signal("-CONT", members(initPid));
    }

    /**
     * Stops every process of the container with SIGSTOP. Sent while CRIU traces the frozen tree, it
     * waits behind CRIU's own stop and takes effect when CRIU lets the tree go: the tree stays
     * stopped, until {@link #resume} or {@link #kill}, whatever CRIU decides.
     */
    public void stop(long initPid) throws CommandException, IOException {
        signal("-STOP", members(initPid));
    }

    /** Ends the container: killing a PID namespace's init kills every process in it. */
    public void kill(long initPid) throws CommandException {
        signal("-KILL", List.of(initPid));
    }

    /**
     * Memory the container's processes hold (anonymous and shared), summed: what a checkpoint of
     * it will roughly weigh. Shared pages counted once per process make this an overestimate.
     */
    public long residentBytes(long initPid) throws IOException {
        long total = 0;
        for (long pid : members(initPid)) {
            try {
                for (String line : Files.readAllLines(proc.resolve(Long.toString(pid)).resolve("status"))) {
                    if (line.startsWith("RssAnon:") || line.startsWith("RssShmem:")) {
                        total += Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                    }
                }
            } catch (NoSuchFileException processEnded) {
                // Gone while we looked: it weighs nothing.
            }
        }
        return total;
    }

    /** Every process whose PID namespace is the one the init leads (the init included). */
    public List<Long> members(long initPid) throws IOException {
        String namespace = pidNamespace(initPid);
        List<Long> members = new ArrayList<>();
        try (var entries = Files.list(proc)) {
            for (Path entry : (Iterable<Path>) entries::iterator) {
                String name = entry.getFileName().toString();
                if (name.chars().allMatch(Character::isDigit)) {
                    try {
                        if (namespace.equals(pidNamespace(Long.parseLong(name)))) {
                            members.add(Long.parseLong(name));
                        }
                    } catch (IOException processEnded) {
                        // Gone while we looked: nothing to signal.
                    }
                }
            }
        }
        return members;
    }

    private String pidNamespace(long pid) throws IOException {
        return Files.readSymbolicLink(proc.resolve(Long.toString(pid)).resolve("ns/pid")).toString();
    }

    /** The process's start time (see {@link ProcessStartTime}) in this node's /proc. */
    public long startTime(long pid) throws IOException {
        return ProcessStartTime.of(proc, pid);
    }

    /** The state letter from /proc/PID/stat (R, S, D, T, t, Z, ...). */
    private String state(long pid) throws IOException {
        String stat;
        try {
            stat = Files.readString(proc.resolve(Long.toString(pid)).resolve("stat"));
        } catch (NoSuchFileException e) {
            throw new IOException("process " + pid + " does not exist", e);
        }
        // The command name in parentheses may hold spaces; the state follows the last ')'.
        return stat.substring(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    }

    private void signal(String signal, List<Long> pids) throws CommandException {
        if (pids.isEmpty()) {
            return;
        }
        List<String> command = new ArrayList<>(List.of("kill", signal));
        pids.forEach(pid -> command.add(Long.toString(pid)));
        commands.run(command, SIGNAL_TIMEOUT).requireSuccess();
    }
}
