package org.lifeboat.agent.lifecycle;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.logging.Logger;
import jnr.unixsocket.UnixDatagramChannel;
import jnr.unixsocket.UnixSocketAddress;

/**
 * Tells systemd, under {@code Type=notify}, when the agent is ready and when it begins to stop, by the
 * sd_notify protocol: one datagram per state to the Unix socket systemd names in {@code NOTIFY_SOCKET}.
 * Listed last among the agent's components, it starts after every server is listening (so
 * {@code systemctl start} returns when the socket and HTTP endpoint answer) and stops first.
 * Without {@code NOTIFY_SOCKET} (the agent run by hand, or by a test) it does nothing.
 */
public final class SystemdNotification implements LifeCycleComponent {

    static final String NOTIFY_SOCKET = "NOTIFY_SOCKET";
    private static final String READY = "READY=1";
    private static final String STOPPING = "STOPPING=1";
    private static final Logger LOG = Logger.getLogger(SystemdNotification.class.getName());

    // NOTIFY_SOCKET's value; null when the agent does not run under systemd's Type=notify.
    private final String socketName;

    public SystemdNotification(String socketName) {
        this.socketName = socketName == null || socketName.isEmpty() ? null : socketName;
    }

    public static SystemdNotification fromEnvironment(Map<String, String> environment) {
        return new SystemdNotification(environment.get(NOTIFY_SOCKET));
    }

    /**
     * Failing here fails the start: systemd would otherwise wait for READY=1 and kill the agent at its
     * timeout, with nothing in the log to say why.
     */
    @Override
    public void start() throws IOException {
        if (socketName != null) {
            send(READY);
        }
    }

    /** A lost STOPPING=1 costs nothing but a less precise state in systemctl, so it is only logged. */
    @Override
    public void stop() {
        if (socketName == null) {
            return;
        }
        try {
            send(STOPPING);
        } catch (IOException e) {
            LOG.warning(e.getMessage());
        }
    }

    private void send(String state) throws IOException {
        ByteBuffer datagram = ByteBuffer.wrap(state.getBytes(StandardCharsets.UTF_8));
        try (UnixDatagramChannel channel = UnixDatagramChannel.open()) {
            int sent = channel.send(datagram, address());
            if (sent != datagram.capacity()) {
                throw new IOException("sent " + sent + " of " + datagram.capacity() + " bytes");
            }
        } catch (IOException e) {
            throw new IOException("cannot tell systemd " + state + " on " + NOTIFY_SOCKET + "=" + socketName + ": "
                    + e.getMessage(), e);
        }
    }

    /** The two forms systemd uses for a Unix socket: an absolute path, or an abstract name written "@name". */
    private UnixSocketAddress address() throws IOException {
        if (socketName.startsWith("@")) {
            // The abstract namespace: a leading NUL byte instead of '@', and no file.
            return new UnixSocketAddress("\0" + socketName.substring(1));
        }
        if (!socketName.startsWith("/")) {
            throw new IOException("must be an absolute path or start with '@'");
        }
        return new UnixSocketAddress(socketName);
    }
}
