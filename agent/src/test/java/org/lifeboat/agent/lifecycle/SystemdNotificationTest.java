package org.lifeboat.agent.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import jnr.unixsocket.UnixDatagramChannel;
import jnr.unixsocket.UnixSocketAddress;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Plays systemd's side of sd_notify with a real Unix datagram socket, as systemd does for Type=notify. */
class SystemdNotificationTest {

    @TempDir
    Path directory;

    private UnixDatagramChannel systemd;

    @AfterEach
    void closeSocket() throws IOException {
        if (systemd != null) {
            systemd.close();
        }
    }

    @Test
    void startSendsReadyAndStopSendsStoppingToASocketFile() throws Exception {
        SystemdNotification notification = notifyingASocketFile();

        notification.start();
        assertEquals("READY=1", nextDatagram());
        notification.stop();
        assertEquals("STOPPING=1", nextDatagram());
    }

    @Test
    void anAtSignNamesASocketInTheAbstractNamespace() throws Exception {
        String name = "lifeboat-notify-test-" + UUID.randomUUID();
        listenOn(new UnixSocketAddress("\0" + name));
        SystemdNotification notification = SystemdNotification.fromEnvironment(Map.of("NOTIFY_SOCKET", "@" + name));

        notification.start();

        assertEquals("READY=1", nextDatagram());
    }

    @Test
    void withoutNotifySocketNothingIsSentAndNothingFails() throws Exception {
        SystemdNotification notification = SystemdNotification.fromEnvironment(Map.of());

        notification.start();
        notification.stop();
    }

    @Test
    void aSocketNobodyListensOnFailsTheStartNamingIt() {
        Path socket = directory.resolve("absent");
        SystemdNotification notification = SystemdNotification.fromEnvironment(Map.of("NOTIFY_SOCKET", socket.toString()));

        IOException failure = assertThrows(IOException.class, notification::start);

        assertEquals("cannot tell systemd READY=1 on NOTIFY_SOCKET=" + socket + ": No such file or directory",
                failure.getMessage());
    }

    @Test
    void aRelativeNameIsRefused() {
        SystemdNotification notification = SystemdNotification.fromEnvironment(Map.of("NOTIFY_SOCKET", "run/notify"));

        IOException failure = assertThrows(IOException.class, notification::start);

        assertEquals("cannot tell systemd READY=1 on NOTIFY_SOCKET=run/notify: must be an absolute path or start with '@'",
                failure.getMessage());
    }

    @Test
    void aFailedStoppingNoticeDoesNotFailTheStop() throws Exception {
        SystemdNotification notification = notifyingASocketFile();
        notification.start();
        systemd.close();
        Files.delete(directory.resolve("notify"));

        notification.stop();
    }

    /** Listens where systemd puts its socket file, and returns what the agent would make of NOTIFY_SOCKET naming it. */
    private SystemdNotification notifyingASocketFile() throws IOException {
        Path socket = directory.resolve("notify");
        listenOn(new UnixSocketAddress(socket.toString()));
        return SystemdNotification.fromEnvironment(Map.of("NOTIFY_SOCKET", socket.toString()));
    }

    private void listenOn(UnixSocketAddress address) throws IOException {
        systemd = UnixDatagramChannel.open();
        systemd.bind(address);
        // A datagram to a Unix socket is queued before send returns, so reading never needs to wait
        // (and a missing datagram fails the read at once instead of hanging the test).
        systemd.configureBlocking(false);
    }

    private String nextDatagram() throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(64);
        systemd.receive(buffer);
        buffer.flip();
        return StandardCharsets.UTF_8.decode(buffer).toString();
    }
}
