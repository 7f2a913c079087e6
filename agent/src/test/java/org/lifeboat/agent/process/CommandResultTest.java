package org.lifeboat.agent.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class CommandResultTest {

    @Test
    void aZeroExitIsSuccessAndRequireSuccessReturnsTheSameResult() throws Exception {
        CommandResult result = new CommandResult(List.of("true"), 0, "", "");

        assertTrue(result.succeeded());
        assertSame(result, result.requireSuccess());
    }

    @Test
    void aFailureQuotesTheCommandTheExitCodeAndStderr() {
        CommandResult result = new CommandResult(List.of("squeue", "--noheader"), 1, "ignored stdout", "slurm_load_jobs error\n");

        CommandException error = assertThrows(CommandException.class, result::requireSuccess);

        assertEquals("squeue --noheader exited 1:\n  | slurm_load_jobs error", error.getMessage());
    }

    @Test
    void aFailureWithBlankStderrQuotesStdoutInstead() {
        CommandException error = assertThrows(CommandException.class,
                () -> new CommandResult(List.of("tool"), 3, "the reason\n", "  \n").requireSuccess());

        assertEquals("tool exited 3:\n  | the reason", error.getMessage());
    }

    @Test
    void aFailureWithNoOutputSaysSo() {
        CommandException error = assertThrows(CommandException.class,
                () -> new CommandResult(List.of("tool"), 4, "", "").requireSuccess());

        assertEquals("tool exited 4 with no output", error.getMessage());
    }

    @Test
    void onlyTheLastTwentyLinesOfALongOutputAreQuoted() {
        String output = IntStream.rangeClosed(1, 100).mapToObj(i -> "line " + i).collect(Collectors.joining("\n"));

        CommandException error = assertThrows(CommandException.class,
                () -> new CommandResult(List.of("tool"), 1, "", output).requireSuccess());

        assertFalse(error.getMessage().contains("line 80\n"), error.getMessage());
        assertTrue(error.getMessage().contains("  | line 81\n"), error.getMessage());
        assertTrue(error.getMessage().endsWith("  | line 100"), error.getMessage());
    }

    @Test
    void theCommandListIsCopiedSoLaterChangesDoNotShowThrough() {
        List<String> command = new java.util.ArrayList<>(List.of("a"));
        CommandResult result = new CommandResult(command, 0, "", "");

        command.add("b");

        assertEquals(List.of("a"), result.command());
    }
}
