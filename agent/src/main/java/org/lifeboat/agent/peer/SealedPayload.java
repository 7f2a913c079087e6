package org.lifeboat.agent.peer;

import java.util.Base64;

/**
 * What a credential seals: the SHA-256 (hex) of its message, then, if the message comes with a
 * secret, {@code ':'} and the secret in base64. With MUNGE the payload is encrypted with the
 * realm's key and only root may decode it, so the secret reaches no one else.
 */
final class SealedPayload {

    private SealedPayload() {}

    static String encode(byte[] message, byte[] secret) {
        String digest = WireFormat.sha256Hex(message);
        return secret.length == 0 ? digest : digest + ":" + Base64.getEncoder().encodeToString(secret);
    }

    /**
     * The secret of {@code payload}, if it seals exactly {@code message}.
     *
     * @throws PeerAuthenticationException the payload is not one, or seals another message
     */
    static byte[] open(String payload, byte[] message) throws PeerAuthenticationException {
        int colon = payload.indexOf(':');
        String digest = colon < 0 ? payload : payload.substring(0, colon);
        if (!digest.equals(WireFormat.sha256Hex(message))) {
            throw new PeerAuthenticationException("the credential was made for another message");
        }
        if (colon < 0) {
            return PeerAuthenticator.NO_SECRET;
        }
        try {
            return Base64.getDecoder().decode(payload.substring(colon + 1));
        } catch (IllegalArgumentException e) {
            throw new PeerAuthenticationException("the credential's secret is not base64");
        }
    }
}
