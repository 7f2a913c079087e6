package org.lifeboat.agent.peer;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Behaves like MUNGE without munged: a credential names its realm (the shared key), a serial number
 * and the payload MUNGE would seal (the SHA-256 of its message, and its secret if any); it verifies
 * only in the same realm, for that exact message, and once. (Unlike MUNGE's, the secret is readable
 * here: the tests' network has no eavesdropper.) Two agents of one cluster share an instance here,
 * as they share munged's key and each node's replay cache.
 */
final class FakeAuthenticator implements PeerAuthenticator {

    private final String realm;
    private final AtomicLong serial = new AtomicLong();
    private final Set<String> used = new HashSet<>();

    FakeAuthenticator(String realm) {
        this.realm = realm;
    }

    @Override
    public String seal(byte[] message, byte[] secret) {
        return realm + ":" + serial.incrementAndGet() + ":" + SealedPayload.encode(message, secret);
    }

    @Override
    public synchronized byte[] open(String credential, byte[] message) throws PeerAuthenticationException {
        String[] parts = credential.split(":", 3);
        if (parts.length != 3 || !parts[0].equals(realm)) {
            throw new PeerAuthenticationException("not a credential of realm " + realm);
        }
        byte[] secret = SealedPayload.open(parts[2], message);
        if (!used.add(credential)) {
            throw new PeerAuthenticationException("replayed credential");
        }
        return secret;
    }
}
