package org.lifeboat.agent.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.process.FakeCommandRunner;

/** Against a fake /proc: three processes in the container's PID namespace, one outside it. */
class ContainerProcessesTest {

    @TempDir
    Path proc;

    private final FakeCommandRunner commands = new FakeCommandRunner();

    @Test
    void theContainerIsEveryProcessInItsInitsPidNamespace() throws IOException {
        fakeProcesses("T", "t");

        assertEquals(List.of(10L, 11L, 12L), sorted(new ContainerProcesses(proc, commands).members(10)));
    }

    @Test
    void aContainerIsStoppedOnlyWhenEveryProcessIs() throws IOException {
        fakeProcesses("T", "T");
        assertTrue(new ContainerProcesses(proc, commands).allStopped(10));

        fakeProcesses("T", "S");
        assertFalse(new ContainerProcesses(proc, commands).allStopped(10));
    }

    @Test
    void resumingSendsSigcontToEveryProcessOfTheContainer() throws Exception {
        fakeProcesses("T", "T");
        commands.answer(0, "", "");

        new ContainerProcesses(proc, commands).resume(10);

        List<String> command = commands.commands().get(0);
        assertEquals(List.of("kill", "-CONT"), command.subList(0, 2));
        assertEquals(List.of("10", "11", "12"), command.subList(2, 5).stream().sorted().toList());
    }

    @Test
    void residentBytesSumsAnonymousAndSharedMemory() throws IOException {
        fakeProcesses("S", "S");

        assertEquals(3 * (1000 + 24) * 1024L, new ContainerProcesses(proc, commands).residentBytes(10));
    }

    @Test
    void aZombieOrMissingInitIsNotAlive() throws IOException {
        fakeProcesses("Z", "S");
        assertFalse(new ContainerProcesses(proc, commands).isAlive(10));
        assertFalse(new ContainerProcesses(proc, commands).isAlive(4242));
    }

    private void fakeProcesses(String initState, String otherState) throws IOException {
        process(10, "pid:[4026532100]", initState);
        process(11, "pid:[4026532100]", otherState);
        process(12, "pid:[4026532100]", otherState);
        process(99, "pid:[4026531836]", "S");
    }

    private void process(long pid, String namespace, String state) throws IOException {
        Path directory = Files.createDirectories(proc.resolve(Long.toString(pid)));
        Path ns = Files.createDirectories(directory.resolve("ns"));
        Files.deleteIfExists(ns.resolve("pid"));
        Files.createSymbolicLink(ns.resolve("pid"), Path.of(namespace));
        Files.writeString(directory.resolve("stat"), pid + " (work load) " + state + " 1 2 3");
        Files.writeString(directory.resolve("status"), "Name:\twork load\nRssAnon:\t    1000 kB\nRssFile:\t 500 kB\nRssShmem:\t      24 kB\n");
    }

    private static List<Long> sorted(List<Long> pids) {
        return pids.stream().sorted().toList();
    }
}
