package org.lifeboat.agent.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class SystemUsersTest {

    private final FakeCommandRunner commands = new FakeCommandRunner();
    private final SystemUsers users = new SystemUsers(commands);

    @Test
    void aNumericUserIsItsOwnUidAndNothingIsRun() throws Exception {
        assertEquals(64030, users.uidOf("64030"));
        assertEquals(0, users.uidOf("0"));

        assertEquals(List.of(), commands.commands());
    }

    @Test
    void aNameIsResolvedFromItsGetentPasswdLine() throws Exception {
        commands.answer(0, "slurm:x:64030:64031:SLURM workload manager:/var/lib/slurm:/usr/sbin/nologin\n", "");

        assertEquals(64030, users.uidOf("slurm"));

        assertEquals(List.of(List.of("getent", "passwd", "slurm")), commands.commands());
    }

    @Test
    void getentExitCode2MeansThereIsNoSuchUser() {
        commands.answer(2, "", "");

        CommandException error = assertThrows(CommandException.class, () -> users.uidOf("nosuchuser"));

        assertTrue(error.getMessage().contains("there is no user 'nosuchuser'"), error.getMessage());
    }

    @Test
    void anyOtherGetentFailureIsReportedWithItsOutput() {
        commands.answer(1, "", "getent: cannot reach the directory\n");

        CommandException error = assertThrows(CommandException.class, () -> users.uidOf("slurm"));

        assertTrue(error.getMessage().contains("exited 1"), error.getMessage());
        assertTrue(error.getMessage().contains("cannot reach the directory"), error.getMessage());
    }

    @Test
    void anEntryWithoutANumericUidIsRefused() {
        commands.answer(0, "slurm:x:sixty\n", "");

        CommandException error = assertThrows(CommandException.class, () -> users.uidOf("slurm"));

        assertTrue(error.getMessage().contains("without a uid"), error.getMessage());
    }

    @Test
    void aNumericUserBeyondTheLargestSupportedUidIsACommandExceptionNotACrash() {
        CommandException error = assertThrows(CommandException.class, () -> users.uidOf("4294967295"));

        assertTrue(error.getMessage().contains("4294967295"), error.getMessage());
        assertEquals(List.of(), commands.commands());
    }

    @Test
    void anEntryWithAUidBeyondTheLargestSupportedUidIsACommandExceptionNotACrash() {
        commands.answer(0, "big:x:3000000000:100::/home/big:/bin/sh\n", "");

        CommandException error = assertThrows(CommandException.class, () -> users.uidOf("big"));

        assertTrue(error.getMessage().contains("3000000000"), error.getMessage());
    }
}
