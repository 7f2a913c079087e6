package org.lifeboat.agent.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class ImageSpoolTest {

    private static final long PLENTY = 1L << 30;

    @TempDir
    Path directory;

    private Path source;
    private Path target;
    private byte[] tar;
    private String sealedSha256;

    @BeforeEach
    void images() throws IOException {
        source = Files.createDirectory(directory.resolve("source"));
        target = Files.createDirectory(directory.resolve("target"));
        byte[] pages = new byte[2 * 1024 * 1024];
        new Random(5).nextBytes(pages);
        Files.write(source.resolve("pages-1.img"), pages);
        Files.writeString(source.resolve("core-1.img"), "core");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageArchive.write(source, out);
        tar = out.toByteArray();
        sealedSha256 = WireFormat.sha256Hex(tar);
    }

    @Test
    void aTarMatchingItsSealedDigestIsUnpackedAndItsSpoolRemoved() throws Exception {
        assertEquals(tar.length, new ImageSpool(target).receive(new ByteArrayInputStream(tar), PLENTY));
        assertEquals(List.of(ImageSpool.FILE_NAME), files(target), "nothing unpacked on arrival");

        long bytes = new ImageSpool(target).unpack(sealedSha256, PLENTY);

        assertEquals(2 * 1024 * 1024 + 4, bytes);
        assertEquals(List.of("core-1.img", "pages-1.img"), files(target));
        assertArrayEquals(Files.readAllBytes(source.resolve("pages-1.img")), Files.readAllBytes(target.resolve("pages-1.img")));
    }

    @Test
    void aTarWithAByteFlippedOnTheLinkIsRefusedBeforeAnythingIsExtracted() throws Exception {
        // The sender notices too (the digest in the reply differs), but the target must not rely on a sender that noticed.
        FakeAuthenticator cluster = new FakeAuthenticator("cluster");
        TestHandler handler = new TestHandler().onReceive((request, message, body) -> {
            new ImageSpool(target).receive(body, PLENTY);
            return WireFormat.JSON.createObjectNode();
        });
        PeerServer server = new PeerServer("node2", new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), cluster, handler);
        server.start();
        try (TamperingProxy proxy = TamperingProxy.flippingByteAt(server.boundAddress(), 1024 * 1024)) {
            PeerClient client = new PeerClient(proxy.address(), "node1", "node2", cluster, Duration.ofSeconds(10), PageCompression.NONE);
            IOException sent = assertThrows(IOException.class,
                    () -> client.send("images", WireFormat.JSON.createObjectNode(), out -> out.write(tar)));
            assertTrue(sent.getMessage().contains("did not arrive intact"), sent.getMessage());
        } finally {
            server.stop();
        }

        PeerRequestException error = assertThrows(PeerRequestException.class, () -> new ImageSpool(target).unpack(sealedSha256, PLENTY));

        assertEquals(ImageSpool.IMAGES_REFUSED, error.code());
        assertTrue(error.getMessage().contains("the source sealed " + sealedSha256), error.getMessage());
        assertEquals(List.of(ImageSpool.FILE_NAME), files(target), "no image file was written");
    }

    @Test
    void aRestoreWithoutATarOrWithoutADigestIsRefused() throws Exception {
        PeerRequestException missing = assertThrows(PeerRequestException.class, () -> new ImageSpool(target).unpack(sealedSha256, PLENTY));
        assertEquals(ImageSpool.IMAGES_REFUSED, missing.code());

        new ImageSpool(target).receive(new ByteArrayInputStream(tar), PLENTY);
        PeerRequestException unsealed = assertThrows(PeerRequestException.class, () -> new ImageSpool(target).unpack("", PLENTY));
        assertEquals(ImageSpool.IMAGES_REFUSED, unsealed.code());
        assertEquals(List.of(ImageSpool.FILE_NAME), files(target));
    }

    @Test
    void aSecondTarForTheSameMigrationIsRefusedAndTheFirstKept() throws Exception {
        new ImageSpool(target).receive(new ByteArrayInputStream(tar), PLENTY);

        assertThrows(FileAlreadyExistsException.class,
                () -> new ImageSpool(target).receive(new ByteArrayInputStream(new byte[10]), PLENTY));

        assertEquals(2 * 1024 * 1024 + 4, new ImageSpool(target).unpack(sealedSha256, PLENTY), "the first tar is intact");
    }

    @Test
    void aTarLargerThanTheSpaceFreeIsRefusedAndLeavesNoSpool() throws Exception {
        IOException error = assertThrows(IOException.class,
                () -> new ImageSpool(target).receive(new ByteArrayInputStream(tar), 1024 * 1024));

        assertTrue(error.getMessage().contains("exceeds the 1048576 bytes free"), error.getMessage());
        assertFalse(Files.exists(target.resolve(ImageSpool.FILE_NAME)));
    }

    private static List<String> files(Path directory) throws IOException {
        try (Stream<Path> entries = Files.list(directory)) {
            return entries.map(path -> path.getFileName().toString()).sorted().toList();
        }
    }
}
