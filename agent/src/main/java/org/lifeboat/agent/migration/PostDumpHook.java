package org.lifeboat.agent.migration;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.logging.Logger;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.container.ProcessStartTime;

/**
 * CRIU's post-dump action script, through which the agent holds the point of no return. At
 * post-dump CRIU has written every image and keeps the tree frozen until the script exits: the
 * script marks the dump "dumped" and waits for the agent's decision in the dump's control directory.
 * The script runs as CRIU does, as the job's owner: it reads the decisions root writes, and writes
 * its mark into a directory of the owner's inside the control directory ({@link #marks}).
 * The control directory is on this node's disk, named as the image directory, under the agent's
 * outgoing directory: images on a shared
 * file system would make every mark and every poll a round trip to its server, and a restarted
 * agent finds every interrupted dump on its own disk. Commit
 * (exit 0): CRIU kills the tree, which runs on the target now. Rollback (exit 1): CRIU unlocks
 * the network, takes TCP connections out of repair mode and resumes the tree, exactly where it was.
 * No decision in time means the agent is gone: the job is given back. So does an agent that
 * died (the script checks the process that installed it, by pid and start time) before the
 * migration reached the requeue: there is nobody left to decide, and the source copy is the job.
 * Once the agent has marked the requeue as started, Slurm may already be killing the source copy
 * and starting the job elsewhere, so a dead agent then means waiting out the limit instead: the
 * copy stays frozen and never runs beside the target's.
 */
public final class PostDumpHook {

    private static final Logger LOG = Logger.getLogger(PostDumpHook.class.getName());
    static final String SCRIPT_NAME = "criu-post-dump.sh";
    static final String DUMPED = ".lifeboat-dumped";
    // In the control directory, the owner's: where their CRIU's script marks the dump.
    static final String MARKS = "criu";
    static final String COMMIT = ".lifeboat-commit";
    static final String ROLLBACK = ".lifeboat-rollback";
    static final String REQUEUING = ".lifeboat-requeuing";
    static final String STOPPED_TREE = ".lifeboat-stopped-tree";
    // Long enough to send a large job's remaining images and restore it; short enough that a job
    // whose agent died is not frozen for long.
    static final Duration DECISION_LIMIT = Duration.ofMinutes(15);
    private static final Duration POLL = Duration.ofMillis(50);
    // After the decision CRIU only kills or resumes the tree and ends.
    private static final Duration CRIU_FINISH_TIMEOUT = Duration.ofMinutes(2);

    private PostDumpHook() {}

    /**
     * Writes the script, watching this agent process, into the outgoing directory and returns its path:
     * root's, and readable by every job owner, whose CRIU runs it.
     *
     * @param controlRoot where each dump's control directory is: {@link #controlDirectory}
     */
    public static Path install(Path controlRoot) throws IOException {
        long agent = ProcessHandle.current().pid();
        return install(controlRoot, agent, Long.toString(ProcessStartTime.of(Path.of("/proc"), agent)));
    }

    static Path install(Path controlRoot, long agentPid, String agentStartTime) throws IOException {
        Path script = controlRoot.resolve(SCRIPT_NAME);
        String body = "#!/bin/sh\n"
                + "# Written by the Lifeboat agent: CRIU's --action-script for migrations (see PostDumpHook.java).\n"
                + "[ \"$CRTOOLS_SCRIPT_ACTION\" = post-dump ] || exit 0\n"
                // CRIU names the image directory by its descriptor (/proc/PID/fd/N), whose link holds the directory's
                // real path: its name names the dump. Read, not resolved (readlink -f): resolving would walk the
                // path, and the job's owner, whom CRIU and this script run as, may not pass the root-only parent.
                + "images=$(readlink \"$CRTOOLS_IMAGE_DIR\") || images=$CRTOOLS_IMAGE_DIR\n"
                + "decisions=" + shellQuoted(controlRoot.toString()) + "/\"$(basename \"$images\")\"\n"
                + ": > \"$decisions/" + MARKS + "/" + DUMPED + "\" || exit 1\n"
                + "agent_alive() { [ \"$(cut -d' ' -f22 /proc/" + agentPid + "/stat 2>/dev/null)\" = " + agentStartTime + " ]; }\n"
                + "polls=0\n"
                + "while [ \"$polls\" -lt " + DECISION_LIMIT.dividedBy(POLL) + " ]; do\n"
                + "    [ -e \"$decisions/" + COMMIT + "\" ] && exit 0\n"
                + "    [ -e \"$decisions/" + ROLLBACK + "\" ] && exit 1\n"
                + "    agent_alive || [ -e \"$decisions/" + REQUEUING + "\" ] || exit 1\n"
                + "    sleep 0." + String.format("%02d", POLL.toMillis() / 10) + "\n"
                + "    polls=$((polls + 1))\n"
                + "done\n"
                + "exit 1\n";
        Path temporary = controlRoot.resolve(SCRIPT_NAME + ".tmp");
        Files.writeString(temporary, body);
        Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.move(temporary, script, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return script;
    }

    /** The control directory of the dump into {@code imageDirectory}, which the agent creates before the dump. */
    static Path controlDirectory(Path controlRoot, Path imageDirectory) {
        return controlRoot.resolve(imageDirectory.getFileName().toString());
    }

    private static String shellQuoted(String text) {
        return "'" + text.replace("'", "'\\''") + "'";
    }

    /**
     * Waits until CRIU's dump, running as {@code dump}, has reached post-dump, where it holds the
     * frozen tree for the agent's decision; a CRIU that fails before (and so gave the tree back
     * itself) is rethrown.
     */
    static void awaitDumped(Path control, java.util.concurrent.Future<?> dump) throws Exception {
        awaitDumped(control, dump, () -> { });
    }

    /**
     * Waits for CRIU's dump to end after the decision; how it ended is only logged, since the
     * decision (and so the job's fate) is already taken. {@code what} names the run in the log.
     */
    static void awaitExit(String what, java.util.concurrent.Future<?> dump) throws InterruptedException {
        try {
            dump.get(CRIU_FINISH_TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            LOG.fine(() -> what + ": CRIU ended with " + e.getCause().getMessage());
        } catch (java.util.concurrent.TimeoutException e) {
            LOG.warning(what + ": CRIU still runs " + CRIU_FINISH_TIMEOUT.toSeconds() + " s after the decision");
        }
    }

    /** Something checked while CRIU dumps, which throws to give the dump up (a stalled transfer). */
    @FunctionalInterface
    interface DumpWatch {
        void check() throws Exception;
    }

    /** As above, with the watch checked every 10 ms; when it throws, that is the dump's failure. */
    static void awaitDumped(Path control, java.util.concurrent.Future<?> dump, DumpWatch watch) throws Exception {
        while (!dumped(control)) {
            watch.check();
            if (dump.isDone()) {
                try {
                    dump.get();
                } catch (java.util.concurrent.ExecutionException failed) {
                    throw failed.getCause() instanceof Exception cause ? cause : failed;
                }
                throw new java.io.IOException("CRIU ended without reaching post-dump");
            }
            Thread.sleep(10);
        }
    }

    static boolean dumped(Path control) {
        return Files.exists(marks(control).resolve(DUMPED));
    }

    /** Where the script, run as the job's owner, marks the dump: a directory of the owner's. */
    static Path marks(Path control) {
        return control.resolve(MARKS);
    }

    static void commit(Path control) throws IOException {
        Files.createFile(control.resolve(COMMIT));
    }

    /** From here on a dead agent must not make CRIU resume the source copy (see the class comment). */
    static void requeuing(Path control) throws IOException {
        Files.createFile(control.resolve(REQUEUING));
    }

    static boolean requeueStarted(Path control) {
        return Files.exists(control.resolve(REQUEUING));
    }

    /**
     * Post-copy: CRIU serves the memory only after its post-dump script has ended, whatever the script
     * said, and gives the tree back afterwards when it said "roll back". So the script is let go at
     * once with that answer, the tree having been stopped first (see SourceCopy#serveLazyPages): the
     * decision is the agent's alone, by SIGCONT or SIGKILL.
     */
    static void serveLazyPages(Path control, ContainerProcesses processes, long initPid) throws IOException {
        // Which tree this agent stopped, should it stop before its decision: its start again resumes the tree.
        Files.writeString(control.resolve(STOPPED_TREE), initPid + " " + processes.startTime(initPid) + "\n");
        rollBack(control);
    }

    /**
     * The tree a post-copy migration stopped, if it still runs as the same process (its start time
     * unchanged): empty when there is none or it has gone.
     */
    static java.util.Optional<Long> stoppedTree(Path control, ContainerProcesses processes) {
        try {
            String[] recorded = Files.readString(control.resolve(STOPPED_TREE)).strip().split(" ");
            long pid = Long.parseLong(recorded[0]);
            return processes.startTime(pid) == Long.parseLong(recorded[1]) ? java.util.Optional.of(pid) : java.util.Optional.empty();
        } catch (IOException | RuntimeException e) {
            return java.util.Optional.empty();
        }
    }

    static void rollBack(Path control) throws IOException {
        if (!Files.exists(control.resolve(ROLLBACK))) {
            Files.createFile(control.resolve(ROLLBACK));
        }
    }
}
