package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResumeMarkersTest {

    @TempDir
    Path temporary;

    @Test
    void theMarkerNamesTheJobItsOwnerAndTheInitByPidAndStartTime() throws Exception {
        Path proc = temporary.resolve("proc");
        Files.createDirectories(proc.resolve("4242"));
        // A command name with spaces and a parenthesis must not shift the fields.
        Files.writeString(proc.resolve("4242/stat"), "4242 (sh (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0"
                + " 987654 1000 100 18446744073709551615\n");
        ResumeMarkers markers = new ResumeMarkers(temporary.resolve("resume/node2"), proc);

        markers.write(17, 1000, 4242);

        Path marker = temporary.resolve("resume/node2/17");
        assertEquals("job=17\nuid=1000\ninit-pid=4242\ninit-start=987654\n", Files.readString(marker));
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(marker)));
        markers.remove(17);
        assertFalse(Files.exists(marker));
        markers.remove(17); // a repeated job end is fine
    }

    @Test
    void aRestoringMarkerNamesNoInitAndIsReplacedByTheRealOne() throws Exception {
        Path proc = temporary.resolve("proc");
        Files.createDirectories(proc.resolve("77"));
        Files.writeString(proc.resolve("77/stat"), "77 (sinit) S 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5555 0 0 0\n");
        ResumeMarkers markers = new ResumeMarkers(temporary.resolve("resume/node2"), proc);

        markers.writeRestoring(42, 1000);
        assertEquals("job=42\nuid=1000\nrestoring=1\n", Files.readString(markers.marker(42)));

        markers.write(42, 1000, 77);
        assertEquals("job=42\nuid=1000\ninit-pid=77\ninit-start=5555\n", Files.readString(markers.marker(42)));
    }

    @Test
    void theStartTimeOfARealProcessIsReadable() throws Exception {
        ResumeMarkers markers = new ResumeMarkers(temporary, Path.of("/proc"));
        long pid = ProcessHandle.current().pid();
        assertEquals(markers.startTime(pid), markers.startTime(pid));
    }
}
