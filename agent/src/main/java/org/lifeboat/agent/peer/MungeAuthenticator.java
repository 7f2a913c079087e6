package org.lifeboat.agent.peer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Pattern;
import jnr.ffi.Pointer;
import jnr.ffi.byref.IntByReference;
import jnr.ffi.byref.PointerByReference;

/**
 * Authenticates agents with MUNGE, which every Slurm node already runs and shares a key for: no
 * certificates to issue. A credential carries the uid of its maker, munged refuses it once expired
 * (5 minutes by default) or decoded before on the same node, and its payload here is the SHA-256
 * of the one message it vouches for, and a relay's key when there is one (see {@link SealedPayload}).
 * Credentials are made and read through libmunge: four per request and reply, on a migration's
 * path, where a munge or unmunge process each cost ~3 ms.
 */
public final class MungeAuthenticator implements PeerAuthenticator {

    private static final Pattern CREDENTIAL = Pattern.compile("MUNGE:[A-Za-z0-9+/=]+:");
    // A credential for a 64-byte payload is ~200 characters; munge's own limit is far above this.
    private static final int CREDENTIAL_LIMIT = 64 * 1024;
    private static final int ROOT_UID = 0;

    private final LibMunge munge;
    private final LibMunge.LibC libc;
    private final Path mungeSocket;

    /** @throws UnsatisfiedLinkError libmunge.so.2 is not installed (Debian libmunge2, RHEL munge-libs) */
    public MungeAuthenticator(Path mungeSocket) {
        this.munge = LibMunge.load();
        this.libc = LibMunge.LibC.load();
        this.mungeSocket = Objects.requireNonNull(mungeSocket, "mungeSocket");
    }

    @Override
    public String seal(byte[] message, byte[] secret) throws PeerAuthenticationException {
        Pointer context = context();
        try {
            // Only root may decode it, so a user who copies it off the network cannot use it up in
            // munged's replay cache before the agent it was meant for sees it.
            check(munge.munge_ctx_set(context, LibMunge.OPT_UID_RESTRICTION, ROOT_UID), context, "munge could not restrict a credential to root");
            byte[] payload = SealedPayload.encode(message, secret).getBytes(StandardCharsets.US_ASCII);
            PointerByReference credential = new PointerByReference();
            check(munge.munge_encode(credential, context, payload, payload.length), context, "munge could not make a credential");
            Pointer made = credential.getValue();
            try {
                return made.getString(0, CREDENTIAL_LIMIT, StandardCharsets.US_ASCII);
            } finally {
                libc.free(made);
            }
        } finally {
            munge.munge_ctx_destroy(context);
        }
    }

    @Override
    public byte[] open(String credential, byte[] message) throws PeerAuthenticationException {
        if (!CREDENTIAL.matcher(credential).matches()) {
            throw new PeerAuthenticationException("not a MUNGE credential");
        }
        Pointer context = context();
        PointerByReference payload = new PointerByReference();
        IntByReference length = new IntByReference();
        IntByReference uid = new IntByReference();
        IntByReference gid = new IntByReference();
        try {
            int error = munge.munge_decode(credential, context, payload, length, uid, gid);
            // munged may hand a payload back with some refusals (expired, replayed): it is freed either way.
            Pointer decoded = payload.getValue();
            String sealed = decoded == null ? "" : decoded.getString(0, length.intValue(), StandardCharsets.US_ASCII);
            libc.free(decoded);
            if (error != LibMunge.SUCCESS) {
                throw new PeerAuthenticationException("munge refused the credential: " + munge.munge_strerror(error)
                        + detail(context, error));
            }
            if (uid.intValue() != ROOT_UID) {
                throw new PeerAuthenticationException("the credential was made by uid " + Integer.toUnsignedString(uid.intValue())
                        + ", not by root");
            }
            return SealedPayload.open(sealed, message);
        } finally {
            munge.munge_ctx_destroy(context);
        }
    }

    private Pointer context() throws PeerAuthenticationException {
        Pointer context = munge.munge_ctx_create();
        if (context == null) {
            throw new PeerAuthenticationException("munge could not create a context (out of memory)");
        }
        int error = munge.munge_ctx_set(context, LibMunge.OPT_SOCKET, mungeSocket.toString());
        if (error != LibMunge.SUCCESS) {
            String reason = munge.munge_ctx_strerror(context);
            munge.munge_ctx_destroy(context);
            throw new PeerAuthenticationException("munge could not use the socket " + mungeSocket + ": " + reason);
        }
        return context;
    }

    private void check(int error, Pointer context, String what) throws PeerAuthenticationException {
        if (error != LibMunge.SUCCESS) {
            throw new PeerAuthenticationException(what + ": " + munge.munge_strerror(error) + detail(context, error));
        }
    }

    /** munged's own, longer message (it names the socket it could not reach), when it says more than the error's name. */
    private String detail(Pointer context, int error) {
        String detail = munge.munge_ctx_strerror(context);
        return detail == null || detail.equals(munge.munge_strerror(error)) ? "" : " (" + detail + ")";
    }
}
