package org.lifeboat.agent.peer;

/**
 * Proves who sent a message between agents. A credential binds exactly one message: it seals the
 * message's SHA-256, so it cannot be moved to another message, and an authenticator that can tell
 * (MUNGE can) accepts it once only, so it cannot be replayed either. It may also carry a secret
 * (a relay's key) that only the agents of the realm can read from it.
 */
public interface PeerAuthenticator {

    /** No secret: what {@link #open} returns for a credential that carries none. */
    byte[] NO_SECRET = new byte[0];

    /** A credential for this message and secret, to send along with it; it contains no line break. */
    String seal(byte[] message, byte[] secret) throws PeerAuthenticationException;

    /**
     * Returns the secret sealed with the message ({@link #NO_SECRET} if none) only if the
     * credential is valid, was made by root (agents run as root) and seals exactly this message.
     *
     * @throws PeerAuthenticationException saying why the credential is refused
     */
    byte[] open(String credential, byte[] message) throws PeerAuthenticationException;

    /** A credential for this message alone. */
    default String seal(byte[] message) throws PeerAuthenticationException {
        return seal(message, NO_SECRET);
    }

    /** As {@link #open}, for a message whose secret, if any, is not needed. */
    default void verify(String credential, byte[] message) throws PeerAuthenticationException {
        open(credential, message);
    }
}
