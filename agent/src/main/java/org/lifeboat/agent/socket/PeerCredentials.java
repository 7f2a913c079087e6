package org.lifeboat.agent.socket;

/** Who is on the other end of a socket connection, as the kernel reports it (SO_PEERCRED). */
public record PeerCredentials(long pid, int uid, int gid) {

    public boolean isRoot() {
        return uid == 0;
    }

    @Override
    public String toString() {
        return "pid " + pid + " uid " + uid + " gid " + gid;
    }
}
