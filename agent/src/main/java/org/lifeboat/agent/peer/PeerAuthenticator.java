package org.lifeboat.agent.peer;

/**
 * Proves who sent a message between agents. A credential binds exactly one message: it seals the
 * message's SHA-256, so it cannot be moved to another message, and an authenticator that can tell
 * (MUNGE can) accepts it once only, so it cannot be replayed either.
 */
public interface PeerAuthenticator {

    /** A credential for this message, to send along with it; it contains no line break. */
    String seal(byte[] message) throws PeerAuthenticationException;

    /**
     * Returns normally only if the credential is valid, was made by root (agents run as root) and
     * seals exactly this message.
     *
     * @throws PeerAuthenticationException saying why the credential is refused
     */
    void verify(String credential, byte[] message) throws PeerAuthenticationException;
}
