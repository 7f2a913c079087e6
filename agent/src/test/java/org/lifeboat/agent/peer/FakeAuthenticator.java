package org.lifeboat.agent.peer;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Behaves like MUNGE without munged: a credential names its realm (the shared key), a serial number
 * and the SHA-256 of its message; it verifies only in the same realm, for that exact message, and
 * once. Two agents of one cluster share an instance here, as they share munged's key and each node's
 * replay cache.
 */
final class FakeAuthenticator implements PeerAuthenticator {

    private final String realm;
    private final AtomicLong serial = new AtomicLong();
    private final Set<String> used = new HashSet<>();

    FakeAuthenticator(String realm) {
        this.realm = realm;
    }

    @Override
    public String seal(byte[] message) {
        return realm + ":" + serial.incrementAndGet() + ":" + WireFormat.sha256Hex(message);
    }

    @Override
    public synchronized void verify(String credential, byte[] message) throws PeerAuthenticationException {
        String[] parts = credential.split(":", -1);
        if (parts.length != 3 || !parts[0].equals(realm)) {
            throw new PeerAuthenticationException("not a credential of realm " + realm);
        }
        if (!parts[2].equals(WireFormat.sha256Hex(message))) {
            throw new PeerAuthenticationException("the credential was made for another message");
        }
        if (!used.add(credential)) {
            throw new PeerAuthenticationException("replayed credential");
        }
    }
}
