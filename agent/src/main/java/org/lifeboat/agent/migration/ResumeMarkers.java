package org.lifeboat.agent.migration;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;
import org.lifeboat.agent.container.ProcessStartTime;

/**
 * Tells {@code lifeboat-run} that a job's container was restored on this node. When Slurm starts
 * the requeued job here, its batch script runs again from the top; {@code lifeboat-run} finds the
 * marker {@code DIR/NODE/JOBID} and, instead of starting the workload from scratch, waits for the
 * restored container's init and exits with its status. The format is {@code key=value} lines, for
 * a small C reader: {@code uid}, {@code init-pid} and {@code init-start} (the init's start time in
 * clock ticks, field 22 of /proc/PID/stat, so a reused pid is never mistaken for the init).
 */
public final class ResumeMarkers {

    private final Path directory;
    private final Path proc;

    /** @param directory this node's marker directory: the configured resume directory plus the node name */
    public ResumeMarkers(Path directory, Path proc) {
        this.directory = Objects.requireNonNull(directory, "directory");
        this.proc = Objects.requireNonNull(proc, "proc");
    }

    /** Writes the marker atomically: lifeboat-run reads a whole marker or none. */
    public void write(long jobId, int uid, long initPid) throws IOException {
        writeAtomically(jobId, "job=" + jobId + "\nuid=" + uid + "\ninit-pid=" + initPid + "\ninit-start=" + startTime(initPid) + "\n");
    }

    private void writeAtomically(long jobId, String text) throws IOException {
        Files.createDirectories(directory);
        Path temporary = directory.resolve("." + jobId + ".tmp");
        Files.writeString(temporary, text, StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-r--r--"));
        try {
            Files.move(temporary, marker(jobId), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temporary, marker(jobId), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Tells lifeboat-run that the job's checkpoint is being restored here: it waits until the
     * marker names the restored init (or is removed, when the restore failed).
     */
    public void writeRestoring(long jobId, int uid) throws IOException {
        writeAtomically(jobId, "job=" + jobId + "\nuid=" + uid + "\nrestoring=1\n");
    }

    /** Removes the job's marker, if any: the job ended here, or its container left. */
    public void remove(long jobId) throws IOException {
        Files.deleteIfExists(marker(jobId));
    }

    /** Whether the job's marker here names this init: the container is a copy restored here for the job. */
    public boolean names(long jobId, long initPid) throws IOException {
        try {
            return Files.readAllLines(marker(jobId), StandardCharsets.US_ASCII).contains("init-pid=" + initPid);
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    Path marker(long jobId) {
        return directory.resolve(Long.toString(jobId));
    }

    /** The process's start time (see {@link ProcessStartTime}). */
    long startTime(long pid) throws IOException {
        return ProcessStartTime.of(proc, pid);
    }
}
