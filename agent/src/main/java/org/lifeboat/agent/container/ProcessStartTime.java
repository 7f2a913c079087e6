package org.lifeboat.agent.container;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** When a process started: with its pid, this names one process, as a reused pid has another start time. */
public final class ProcessStartTime {

    private ProcessStartTime() {}

    /** Field 22 of /proc/PID/stat (clock ticks since boot), counted after the command name, which may hold spaces and parentheses. */
    public static long of(Path proc, long pid) throws IOException {
        String stat = Files.readString(proc.resolve(Long.toString(pid)).resolve("stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // fields[0] is field 3 (state), so field 22 is fields[19].
        return Long.parseLong(fields[19]);
    }
}
