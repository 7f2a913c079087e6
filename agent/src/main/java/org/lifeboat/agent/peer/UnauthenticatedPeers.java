package org.lifeboat.agent.peer;

import java.util.Base64;
import java.util.logging.Logger;

/**
 * No authentication at all: every message carries the credential {@code none}, and any message
 * with it is accepted. UNSAFE: anyone who can reach the agent's port can then make it restore a
 * process image of their choosing, as root. Only for sites that explicitly configure it, on a
 * network that only trusted hosts can reach.
 */
public final class UnauthenticatedPeers implements PeerAuthenticator {

    static final String NONE = "none";
    private static final Logger LOG = Logger.getLogger(UnauthenticatedPeers.class.getName());

    public UnauthenticatedPeers() {
        LOG.warning("peer authentication is off: any host that reaches the agent's peer port is trusted");
    }

    /** The secret travels in the clear, as {@code none:BASE64}: there is no key to hide it with. */
    @Override
    public String seal(byte[] message, byte[] secret) {
        return secret.length == 0 ? NONE : NONE + ":" + Base64.getEncoder().encodeToString(secret);
    }

    @Override
    public byte[] open(String credential, byte[] message) throws PeerAuthenticationException {
        if (NONE.equals(credential)) {
            return NO_SECRET;
        }
        if (credential.startsWith(NONE + ":")) {
            try {
                return Base64.getDecoder().decode(credential.substring(NONE.length() + 1));
            } catch (IllegalArgumentException e) {
                throw new PeerAuthenticationException("the secret in \"" + abbreviate(credential) + "\" is not base64");
            }
        }
        throw new PeerAuthenticationException("peer authentication is off here, so the credential must be \"" + NONE
                + "\", not \"" + abbreviate(credential) + "\"");
    }

    private static String abbreviate(String credential) {
        return credential.length() <= 40 ? credential : credential.substring(0, 40) + "…";
    }
}
