package org.lifeboat.agent.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class ProcessCommandRunnerTest {

    private static final Duration GENEROUS = Duration.ofSeconds(20);

    private final ProcessCommandRunner runner = new ProcessCommandRunner();

    @Test
    void theExitCodeAndBothStreamsAreCapturedSeparately() throws Exception {
        CommandResult result = runner.run(List.of("/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"), GENEROUS);

        assertEquals(3, result.exitCode());
        assertEquals("to-stdout\n", result.stdout());
        assertEquals("to-stderr\n", result.stderr());
        assertEquals(List.of("/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"), result.command());
    }

    @Test
    void argumentsArePassedAsIsWithoutAShellInterpretingThem() throws Exception {
        CommandResult result = runner.run(List.of("/bin/echo", "$HOME", "a b", ";", "*"), GENEROUS);

        assertEquals("$HOME a b ; *\n", result.stdout());
    }

    @Test
    void aCommandExceedingItsTimeoutIsKilledAndReported() {
        long started = System.nanoTime();

        CommandException error = assertThrows(CommandException.class,
                () -> runner.run(List.of("sleep", "30"), Duration.ofMillis(300)));

        long elapsedMillis = (System.nanoTime() - started) / 1_000_000;
        assertTrue(error.getMessage().startsWith("sleep 30 did not finish within 300 ms and was killed"), error.getMessage());
        assertTrue(error.getCause() instanceof java.util.concurrent.TimeoutException, "a time limit must be told from a failure");
        assertTrue(elapsedMillis >= 250, "returned before the time limit: " + elapsedMillis + " ms");
        assertTrue(elapsedMillis < 10_000, "the command was not killed promptly: " + elapsedMillis + " ms");
    }

    @Test
    void aMissingExecutableIsACommandExceptionNamingIt() {
        CommandException error = assertThrows(CommandException.class,
                () -> runner.run(List.of("/nonexistent/lifeboat-no-such-tool", "--help"), GENEROUS));

        assertTrue(error.getMessage().startsWith("cannot run /nonexistent/lifeboat-no-such-tool"), error.getMessage());
    }

    @Test
    void anEmptyCommandIsAProgrammingError() {
        assertThrows(IllegalArgumentException.class, () -> runner.run(List.of(), GENEROUS));
    }

    @Test
    void moreThanAMebibyteOnBothStreamsDoesNotDeadlock() throws Exception {
        // Each stream gets 2 MB, far beyond a pipe's buffer; stderr is written first and in full.
        String script = "head -c 2000000 /dev/zero | tr '\\000' e >&2; head -c 2000000 /dev/zero | tr '\\000' o";

        CommandResult result = runner.run(List.of("/bin/sh", "-c", script), GENEROUS);

        assertEquals(0, result.exitCode());
        assertEquals(2_000_000, result.stderr().length());
        assertEquals(2_000_000, result.stdout().length());
        assertTrue(result.stdout().chars().allMatch(c -> c == 'o'));
        assertTrue(result.stderr().chars().allMatch(c -> c == 'e'));
    }

    @Test
    void theCommandReadsNothingFromTheAgentsStandardInput() throws Exception {
        // cat would wait forever on an inherited terminal or pipe; /dev/null ends it at once.
        CommandResult result = runner.run(List.of("cat"), Duration.ofSeconds(5));

        assertEquals(0, result.exitCode());
        assertEquals("", result.stdout());
    }

    @Test
    void extraEnvironmentVariablesReachTheCommandAlongsideTheAgentsOwn() throws Exception {
        ProcessCommandRunner withEnvironment = new ProcessCommandRunner(Map.of("LIFEBOAT_TEST_VALUE", "42"));

        CommandResult result = withEnvironment.run(
                List.of("/bin/sh", "-c", "echo \"$LIFEBOAT_TEST_VALUE\"; test -n \"$PATH\" && echo has-path"), GENEROUS);

        assertEquals("42\nhas-path\n", result.stdout());
    }

    @Test
    void aBackgroundProcessHoldingTheOutputOpenDoesNotOutlastTheTimeLimit() throws Exception {
        // The shell exits at once, but the sleep it started keeps stdout open for 5 s. (The JDK
        // sometimes closes the pipe itself when the shell exits; usually it does not.)
        long started = System.nanoTime();
        try {
            CommandResult result = runner.run(List.of("/bin/sh", "-c", "sleep 5 & echo started"), Duration.ofMillis(300));
            assertEquals("started\n", result.stdout());
        } catch (CommandException e) {
            assertTrue(e.getMessage().contains("exited 0 but a process it started kept its output open"), e.getMessage());
        }

        long elapsedMillis = (System.nanoTime() - started) / 1_000_000;
        assertTrue(elapsedMillis < 4_000, "waited for the background process: " + elapsedMillis + " ms");
    }
}
