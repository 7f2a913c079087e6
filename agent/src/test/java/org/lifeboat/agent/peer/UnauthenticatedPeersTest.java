package org.lifeboat.agent.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class UnauthenticatedPeersTest {

    private static final byte[] MESSAGE = "{}".getBytes(StandardCharsets.UTF_8);

    @Test
    void everyMessageIsSealedWithNoneAndNoneIsAccepted() throws Exception {
        try (CapturedLogs logs = new CapturedLogs()) {
            UnauthenticatedPeers peers = new UnauthenticatedPeers();

            assertEquals("none", peers.seal(MESSAGE));
            peers.verify("none", MESSAGE);
            assertTrue(logs.warned("peer authentication is off"), "switching authentication off is never silent");
        }
    }

    @Test
    void aSecretTravelsInTheClearBesideNone() throws Exception {
        try (CapturedLogs logs = new CapturedLogs()) {
            UnauthenticatedPeers peers = new UnauthenticatedPeers();
            byte[] secret = {1, 2, 3};

            String credential = peers.seal(MESSAGE, secret);

            assertEquals("none:AQID", credential);
            assertArrayEquals(secret, peers.open(credential, MESSAGE));
            assertArrayEquals(PeerAuthenticator.NO_SECRET, peers.open("none", MESSAGE));
        }
    }

    @Test
    void aRealCredentialIsRefusedSoMixedConfigurationsAreNoticed() {
        try (CapturedLogs logs = new CapturedLogs()) {
            UnauthenticatedPeers peers = new UnauthenticatedPeers();

            String credential = "MUNGE:AwQFAABCASiYL7yaYQSIxS7xJxeqkk9y1Ga/XZYBF8xIC9bhT7IRqYOEndcomqOxAurPKlrILdPIxQZ:";

            PeerAuthenticationException error = assertThrows(PeerAuthenticationException.class, () -> peers.verify(credential, MESSAGE));

            assertEquals("peer authentication is off here, so the credential must be \"none\", not \""
                    + credential.substring(0, 40) + "…\"", error.getMessage());
        }
    }
}
