package org.lifeboat.agent.health;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.peer.PeerAuthenticationException;
import org.lifeboat.agent.peer.PeerAuthenticator;

class MungeCheckTest {

    private static final Path SOCKET = Path.of("/run/munge/munge.socket.2");

    @Test
    void aMungedThatMakesACredentialIsReady() {
        MungedStandIn munged = new MungedStandIn(null);

        DependencyState state = new MungeCheck(munged, SOCKET).check();

        assertEquals(DependencyState.ready("munged makes credentials on /run/munge/munge.socket.2"), state);
        assertEquals(List.of("lifeboat dependency check"), munged.sealed);
    }

    @Test
    void aMungedThatCannotMakeOneIsNotReadyWithItsError() {
        MungedStandIn munged = new MungedStandIn("munge could not make a credential: Socket communication error"
                + " (Failed to access \"/run/munge/munge.socket.2\": No such file or directory)");

        DependencyState state = new MungeCheck(munged, SOCKET).check();

        assertEquals(DependencyState.notReady("munge could not make a credential: Socket communication error"
                + " (Failed to access \"/run/munge/munge.socket.2\": No such file or directory)"
                + " (munged's socket: /run/munge/munge.socket.2)"), state);
    }

    /** Seals as munged would, or refuses with the error given; records what it was asked to seal. */
    private static final class MungedStandIn implements PeerAuthenticator {

        private final String refusal;
        private final List<String> sealed = new ArrayList<>();

        MungedStandIn(String refusal) {
            this.refusal = refusal;
        }

        @Override
        public String seal(byte[] message, byte[] secret) throws PeerAuthenticationException {
            if (refusal != null) {
                throw new PeerAuthenticationException(refusal);
            }
            sealed.add(new String(message, java.nio.charset.StandardCharsets.US_ASCII));
            return "MUNGE:credential:";
        }

        @Override
        public byte[] open(String credential, byte[] message) {
            throw new AssertionError("a dependency check only makes credentials");
        }
    }
}
