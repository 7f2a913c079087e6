package org.lifeboat.agent.peer;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.annotations.Variadic;
import jnr.ffi.byref.IntByReference;
import jnr.ffi.byref.PointerByReference;

/**
 * MUNGE's own client library (munge.h, libmunge.so.2), which the munge and unmunge commands are
 * built on: a credential costs one round trip to munged on its socket instead of a process.
 * Constants are munge.h's. Public only because jnr-ffi implements it in a class loader of its own.
 */
public interface LibMunge {

    int OPT_SOCKET = 8;
    int OPT_UID_RESTRICTION = 9;
    int SUCCESS = 0;

    static LibMunge load() {
        return LibraryLoader.create(LibMunge.class).failImmediately().load("munge");
    }

    Pointer munge_ctx_create();

    void munge_ctx_destroy(Pointer context);

    @Variadic(fixedCount = 2)
    int munge_ctx_set(Pointer context, int option, String value);

    @Variadic(fixedCount = 2)
    int munge_ctx_set(Pointer context, int option, int value);

    String munge_ctx_strerror(Pointer context);

    String munge_strerror(int error);

    int munge_encode(PointerByReference credential, Pointer context, byte[] payload, int length);

    int munge_decode(String credential, Pointer context, PointerByReference payload, IntByReference length,
                     IntByReference uid, IntByReference gid);

    /** The C library's free(3), for the memory munge_encode and munge_decode allocate for their caller. */
    public interface LibC {

        static LibC load() {
            return LibraryLoader.create(LibC.class).failImmediately().load("c");
        }

        void free(Pointer memory);
    }
}
