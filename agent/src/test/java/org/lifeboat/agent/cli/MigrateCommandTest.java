package org.lifeboat.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `lifeboat migrate` checks its values itself: a typo is a usage error, whether or not an agent answers. */
class MigrateCommandTest {

    @TempDir
    Path directory;

    private TestCommandLine lifeboat;
    private String absentSocket;

    @BeforeEach
    void noAgent() {
        lifeboat = new TestCommandLine(directory.resolve("agent.yaml"), TestCommandLine.NO_TOOLS);
        absentSocket = directory.resolve("absent.sock").toString();
    }

    @Test
    void anUnknownModeIsAUsageErrorNamingTheModes() {
        assertEquals(2, lifeboat.run("migrate", "42", "--mode", "rsync", "--socket", absentSocket));

        assertTrue(lifeboat.err().startsWith("Invalid value for option '--mode': unknown transfer mode 'rsync'"
                + " (known: diskless, shared-fs, post-copy)"), lifeboat::err);
        assertFalse(lifeboat.err().contains("cannot reach"), lifeboat::err);
    }

    @Test
    void theHelpListsTheModes() {
        assertEquals(0, lifeboat.run("migrate", "--help"));

        assertTrue(lifeboat.out().contains("--mode=MODE     diskless, shared-fs, post-copy (default: the agent's\n"), lifeboat::out);
        assertTrue(lifeboat.out().contains("  6   post-copy: the job's memory stopped crossing"), lifeboat::out);
    }

    @Test
    void aJobIdBelowOneIsAUsageError() {
        assertEquals(2, lifeboat.run("migrate", "0", "--socket", absentSocket));

        assertTrue(lifeboat.err().startsWith("Invalid value for positional parameter at index 0 (JOBID): '0' is not a"
                + " job id: Slurm's start at 1"), lifeboat::err);
    }
}
