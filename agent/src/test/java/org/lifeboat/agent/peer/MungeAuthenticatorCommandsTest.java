package org.lifeboat.agent.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How MungeAuthenticator drives munge and unmunge, and how it reads what they print; see MungeAuthenticatorTest for the real thing. */
class MungeAuthenticatorCommandsTest {

    private static final byte[] MESSAGE = "{\"version\":1}".getBytes(StandardCharsets.UTF_8);
    private static final String HASH = WireFormat.sha256Hex(MESSAGE);
    private static final String CREDENTIAL = "MUNGE:AwQFAAB+abc/def==:";

    private final ScriptedCommands commands = new ScriptedCommands();
    private final MungeAuthenticator munge = new MungeAuthenticator(commands, Path.of("/run/munge/munge.socket.2"));

    @Test
    void sealingRunsMungeOnTheMessagesDigestForRootOnly() throws Exception {
        commands.answer(0, CREDENTIAL + "\n", "");

        assertEquals(CREDENTIAL, munge.seal(MESSAGE));

        assertEquals(List.of(List.of("munge", "--socket", "/run/munge/munge.socket.2", "--restrict-uid", "0", "--string", HASH)),
                commands.commands());
        assertEquals(List.of(Duration.ofSeconds(10)), commands.timeouts());
    }

    @Test
    void verifyingPassesTheCredentialOnStandardInputNotOnTheCommandLine() throws Exception {
        commands.answer(0, "STATUS:          Success (0)\nUID:             root (0)\n\n" + HASH, "");

        munge.verify(CREDENTIAL, MESSAGE);

        assertEquals(List.of(List.of("unmunge", "--socket", "/run/munge/munge.socket.2", "--keys", "STATUS,UID")), commands.commands());
        assertEquals(List.of(CREDENTIAL + "\n"), commands.inputs());
        assertEquals(List.of(Duration.ofSeconds(10)), commands.timeouts());
    }

    @Test
    void aCredentialOfAnotherUserIsRefused() {
        commands.answer(0, "STATUS:          Success (0)\nUID:             alice (1000)\n\n" + HASH, "");

        assertEquals("the credential was made by uid 1000, not by root", refusal());
    }

    @Test
    void aUserNamedLikeRootButWithAnotherUidIsRefused() {
        commands.answer(0, "STATUS:          Success (0)\nUID:             root (1000)\n\n" + HASH, "");

        assertEquals("the credential was made by uid 1000, not by root", refusal());
    }

    @Test
    void aCredentialForAnotherMessageIsRefused() {
        commands.answer(0, "STATUS:          Success (0)\nUID:             root (0)\n\n" + HASH.replace('a', 'b') + "x", "");

        assertEquals("the credential was made for another message", refusal());
    }

    @Test
    void mungesStatusIsTheReasonForARefusal() {
        commands.answer(17, "STATUS:          Replayed credential (17)\nUID:             root (0)\n\n" + HASH, "");

        assertEquals("munge refused the credential: Replayed credential", refusal());
    }

    @Test
    void withoutAStatusLineTheErrorOutputIsTheReason() {
        commands.answer(6, "", "unmunge: Error: Failed to access \"/run/munge/munge.socket.2\": No such file or directory\n");

        assertEquals("munge refused the credential: exit 6, unmunge: Error: Failed to access \"/run/munge/munge.socket.2\": "
                + "No such file or directory", refusal());
    }

    @Test
    void outputWithoutAPayloadIsRefused() {
        commands.answer(0, "STATUS:          Success (0)\nUID:             root (0)\n", "");

        assertEquals("unmunge printed no uid or no payload: STATUS:          Success (0)\nUID:             root (0)", refusal());
    }

    @Test
    void somethingThatIsNotAMungeCredentialNeverReachesUnmunge() {
        assertEquals("not a MUNGE credential", refusal("MUNGE:abc:\nSTATUS: Success (0)"));
        assertEquals("not a MUNGE credential", refusal("none"));
        assertEquals(List.of(), commands.commands());
    }

    @Test
    void mungeFailingToSealIsAnAuthenticationFailureQuotingIt() {
        commands.answer(6, "", "munge: Error: Failed to access \"/run/munge/munge.socket.2\": No such file or directory\n");

        PeerAuthenticationException error = assertThrows(PeerAuthenticationException.class, () -> munge.seal(MESSAGE));

        assertEquals("munge could not make a credential (exit 6): munge: Error: Failed to access \"/run/munge/munge.socket.2\": "
                + "No such file or directory", error.getMessage());
    }

    @Test
    void mungeThatCannotBeRunIsAnAuthenticationFailure() {
        commands.failToRun("cannot run munge: No such file or directory");

        PeerAuthenticationException seal = assertThrows(PeerAuthenticationException.class, () -> munge.seal(MESSAGE));
        assertEquals("cannot run munge: No such file or directory", seal.getMessage());
        assertFalse(refusal().isEmpty());
    }

    private String refusal() {
        return refusal(CREDENTIAL);
    }

    private String refusal(String credential) {
        return assertThrows(PeerAuthenticationException.class, () -> munge.verify(credential, MESSAGE)).getMessage();
    }
}
