package org.lifeboat.agent.migration;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;

/**
 * A /proc directory as the agent reads it: per process a {@code stat} (state letter and start
 * time, field 22) and an {@code ns/pid} link; every process a test adds shares one PID namespace.
 */
final class FakeProc {

    private final Path directory;

    FakeProc(Path directory) throws IOException {
        this.directory = Files.createDirectories(directory);
    }

    Path directory() {
        return directory;
    }

    /** A process in the state given ("T" stopped, "S" running, "Z" ended), started at {@code startTime} ticks. */
    FakeProc process(long pid, String state, long startTime) throws IOException {
        Path process = Files.createDirectories(directory.resolve(Long.toString(pid)).resolve("ns"));
        Path link = process.resolve("pid");
        if (!Files.isSymbolicLink(link)) {
            Files.createSymbolicLink(link, Path.of("pid:[4026532000]"));
        }
        // Fields 3 (state) to 21, then 22 (start time) and one more.
        String fields = state + " " + String.join(" ", Collections.nCopies(18, "0")) + " " + startTime + " 0";
        Files.writeString(process.resolveSibling("stat"), pid + " (lifeboat init) " + fields + "\n");
        return this;
    }
}
