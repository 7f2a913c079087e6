package org.lifeboat.agent.peer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageArchiveTest {

    private static final String LONG_NAME = "pages-" + "1".repeat(150) + ".img";

    @TempDir
    Path temporary;

    @Test
    void theRegularFilesOfADirectoryTravelWholeAndLandWithMode0600() throws Exception {
        Path images = Files.createDirectory(temporary.resolve("images"));
        byte[] pages = randomBytes(3 * 1024 * 1024 + 5);
        Files.write(images.resolve("pages-1.img"), pages);
        Files.writeString(images.resolve("inventory.img"), "inventory");
        Files.write(images.resolve("empty.img"), new byte[0]);
        Files.writeString(images.resolve(LONG_NAME), "a name longer than tar's 100 bytes");
        Files.createDirectory(images.resolve("subdirectory"));
        Files.writeString(images.resolve("subdirectory/inside.img"), "not sent");
        Files.createSymbolicLink(images.resolve("link.img"), images.resolve("inventory.img"));
        ByteArrayOutputStream tar = new ByteArrayOutputStream();

        long written = ImageArchive.write(images, tar);

        Path target = Files.createDirectory(temporary.resolve("target"));
        long extracted = ImageArchive.extract(new ByteArrayInputStream(tar.toByteArray()), target, Long.MAX_VALUE);
        long expected = pages.length + "inventory".length() + "a name longer than tar's 100 bytes".length();
        assertEquals(expected, written);
        assertEquals(expected, extracted);
        assertEquals(List.of("empty.img", "inventory.img", "pages-1.img", LONG_NAME), namesIn(target));
        assertArrayEquals(pages, Files.readAllBytes(target.resolve("pages-1.img")));
        assertEquals("inventory", Files.readString(target.resolve("inventory.img")));
        assertEquals(0, Files.size(target.resolve("empty.img")));
        for (String name : namesIn(target)) {
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(target.resolve(name))), name);
        }
    }

    @Test
    void writingLeavesTheStreamOpenForTheCaller() throws Exception {
        Path images = Files.createDirectory(temporary.resolve("images"));
        Files.writeString(images.resolve("core-1.img"), "core");
        ByteArrayOutputStream out = new ByteArrayOutputStream() {
            @Override
            public void close() {
                throw new AssertionError("the archive closed the caller's stream");
            }
        };

        ImageArchive.write(images, out);

        assertTrue(out.size() > 0);
    }

    @Test
    void entriesThatCouldLandOutsideTheDirectoryAreRefusedAndNothingStays() throws Exception {
        for (String name : List.of("../escape.img", "sub/pages.img", "/etc/cron.d/evil", ".hidden", "..", "a..b", "")) {
            Path target = Files.createDirectory(temporary.resolve("target-" + Math.abs(name.hashCode())));
            byte[] tar = tar(file("good.img", "fine"), file(name, "evil"));

            IOException error = assertThrows(IOException.class,
                    () -> ImageArchive.extract(new ByteArrayInputStream(tar), target, Long.MAX_VALUE), name);

            assertEquals("refusing \"" + name + "\" in the images: an image name is one plain file name", error.getMessage());
            assertEquals(List.of(), namesIn(target), "what was extracted before the bad entry is deleted: " + name);
        }
        assertTrue(Files.notExists(temporary.resolve("escape.img")));
    }

    @Test
    void entriesThatAreNotRegularFilesAreRefused() throws Exception {
        TarArchiveEntry symlink = new TarArchiveEntry("link.img", TarConstants.LF_SYMLINK);
        symlink.setLinkName("/etc/shadow");
        TarArchiveEntry hardLink = new TarArchiveEntry("hard.img", TarConstants.LF_LINK);
        hardLink.setLinkName("good.img");
        TarArchiveEntry directory = new TarArchiveEntry("dir.img", TarConstants.LF_DIR);
        TarArchiveEntry fifo = new TarArchiveEntry("fifo.img", TarConstants.LF_FIFO);
        TarArchiveEntry device = new TarArchiveEntry("dev.img", TarConstants.LF_BLK);
        for (TarArchiveEntry entry : List.of(symlink, hardLink, directory, fifo, device)) {
            Path target = Files.createDirectory(temporary.resolve("target-" + entry.getName()));
            byte[] tar = tar(file("good.img", "fine"), new Content(entry, new byte[0]));

            IOException error = assertThrows(IOException.class,
                    () -> ImageArchive.extract(new ByteArrayInputStream(tar), target, Long.MAX_VALUE));

            assertTrue(error.getMessage().startsWith("refusing \"" + entry.getName().replace("/", "")), error.getMessage());
            assertTrue(error.getMessage().endsWith("not a regular file") || error.getMessage().endsWith("one plain file name"),
                    error.getMessage());
            assertEquals(List.of(), namesIn(target));
        }
    }

    @Test
    void imagesBeyondTheBudgetAreRefusedAndWhatWasExtractedIsDeleted() throws Exception {
        Path target = Files.createDirectory(temporary.resolve("target"));
        byte[] tar = tar(file("a.img", "x".repeat(1000)), file("b.img", "y".repeat(1000)), file("c.img", "z".repeat(1000)));

        IOException error = assertThrows(IOException.class,
                () -> ImageArchive.extract(new ByteArrayInputStream(tar), target, 2500));

        assertEquals("images exceed the 2500 bytes free in " + target, error.getMessage());
        assertEquals(List.of(), namesIn(target));
    }

    @Test
    void imagesExactlyFillingTheBudgetAreAccepted() throws Exception {
        Path target = Files.createDirectory(temporary.resolve("target"));
        byte[] tar = tar(file("a.img", "x".repeat(1000)), file("b.img", "y".repeat(1500)));

        assertEquals(2500, ImageArchive.extract(new ByteArrayInputStream(tar), target, 2500));
    }

    @Test
    void anExistingFileIsNeitherOverwrittenNorDeleted() throws Exception {
        Path target = Files.createDirectory(temporary.resolve("target"));
        Files.writeString(target.resolve("b.img"), "already here");
        byte[] tar = tar(file("a.img", "new"), file("b.img", "new"));

        assertThrows(IOException.class, () -> ImageArchive.extract(new ByteArrayInputStream(tar), target, Long.MAX_VALUE));

        assertEquals(List.of("b.img"), namesIn(target));
        assertEquals("already here", Files.readString(target.resolve("b.img")));
    }

    @Test
    void aNameGivenTwiceIsRefused() throws Exception {
        Path target = Files.createDirectory(temporary.resolve("target"));
        byte[] tar = tar(file("a.img", "first"), file("a.img", "second"));

        IOException error = assertThrows(IOException.class,
                () -> ImageArchive.extract(new ByteArrayInputStream(tar), target, Long.MAX_VALUE));

        assertEquals("refusing \"a.img\" in the images: it appears twice", error.getMessage());
        assertEquals(List.of(), namesIn(target));
    }

    @Test
    void aTruncatedArchiveIsRefusedAndNothingStays() throws Exception {
        Path target = Files.createDirectory(temporary.resolve("target"));
        byte[] whole = tar(file("a.img", "x".repeat(600)), file("b.img", "y".repeat(5000)));
        byte[] truncated = Arrays.copyOf(whole, 512 + 1024 + 512 + 2000);

        assertThrows(IOException.class, () -> ImageArchive.extract(new ByteArrayInputStream(truncated), target, Long.MAX_VALUE));

        assertEquals(List.of(), namesIn(target));
    }

    @Test
    void extractionReadsOnlyTheArchiveAndLeavesTheStreamOpen() throws Exception {
        Path target = Files.createDirectory(temporary.resolve("target"));
        InputStream in = new ByteArrayInputStream(tar(file("a.img", "a"))) {
            @Override
            public void close() {
                throw new AssertionError("the archive closed the caller's stream");
            }
        };

        assertEquals(1, ImageArchive.extract(in, target, Long.MAX_VALUE));
    }

    private record Content(TarArchiveEntry entry, byte[] bytes) {}

    private static Content file(String name, String text) {
        TarArchiveEntry entry = new TarArchiveEntry(name, true);
        entry.setSize(text.length());
        return new Content(entry, text.getBytes());
    }

    /** A tar written without any of ImageArchive's checks, as an attacker could write one. */
    private static byte[] tar(Content... contents) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (Content content : contents) {
                tar.putArchiveEntry(content.entry());
                tar.write(content.bytes());
                tar.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }

    private static byte[] randomBytes(int length) {
        byte[] bytes = new byte[length];
        new Random(11).nextBytes(bytes);
        return bytes;
    }

    private static List<String> namesIn(Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(file -> file.getFileName().toString()).sorted().toList();
        }
    }
}
