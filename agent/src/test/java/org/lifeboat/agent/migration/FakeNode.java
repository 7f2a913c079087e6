package org.lifeboat.agent.migration;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.agent.process.CommandRunner;

/**
 * A node's /proc holding one container's init, alone in its PID namespace, and the kill(1) that
 * acts on it: SIGSTOP-like freezing is CRIU's (see {@link ScriptedCriu}), SIGCONT resumes it,
 * SIGKILL ends it. What the engine does to the job shows as the init's state.
 */
final class FakeNode implements CommandRunner {

    static final long INIT_PID = 4242;
    /** Its start time in /proc/PID/stat (field 22), which names the process together with its pid. */
    static final String START_TIME = "987654";

    private final Path proc;
    private final List<List<String>> commands = new ArrayList<>();

    /** An owner whose directories this test may make: its own user, or any ordinary user when it runs as root. */
    static int ownerUid() {
        long uid = new com.sun.security.auth.module.UnixSystem().getUid();
        return uid == 0 ? 1000 : (int) uid;
    }

    FakeNode(Path proc, long residentKib) throws IOException {
        this.proc = proc;
        Path init = Files.createDirectories(proc.resolve(Long.toString(INIT_PID)).resolve("ns"));
        Files.createSymbolicLink(init.resolve("pid"), Path.of("pid:[4026532000]"));
        Files.writeString(init.resolveSibling("status"), "Name:\tlifeboat-init\nRssAnon:\t" + residentKib + " kB\nRssShmem:\t0 kB\n");
        setState("S");
    }

    ContainerProcesses processes() {
        return new ContainerProcesses(proc, this);
    }

    /** R/S running, T stopped (frozen by CRIU), Z ended. */
    String state() throws IOException {
        String stat = Files.readString(proc.resolve(Long.toString(INIT_PID)).resolve("stat"));
        return stat.substring(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    }

    void setState(String state) {
        try {
            Files.writeString(proc.resolve(Long.toString(INIT_PID)).resolve("stat"), INIT_PID + " (lifeboat-init) " + state
                    + " 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 " + START_TIME + " 4096 100");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    synchronized List<List<String>> commands() {
        return List.copyOf(commands);
    }

    @Override
    public synchronized CommandResult run(List<String> command, Duration timeout) {
        commands.add(List.copyOf(command));
        if (command.size() >= 3 && command.get(0).equals("kill")) {
            switch (command.get(1)) {
                case "-CONT" -> setState("S");
                // Queued behind CRIU's own stop: the tree is stopped already, and stays so when CRIU lets it go.
                case "-STOP" -> setState("T");
                case "-KILL" -> setState("Z");
                default -> throw new AssertionError("unexpected signal in " + command);
            }
            return new CommandResult(command, 0, "", "");
        }
        throw new AssertionError("unexpected command " + command);
    }
}
