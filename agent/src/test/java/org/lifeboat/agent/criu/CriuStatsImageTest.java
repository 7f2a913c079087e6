package org.lifeboat.agent.criu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lifeboat.agent.criu.ProtobufReaderTest.bytes;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CriuStatsImageTest {

    private static final Path SOURCE = Path.of("/images/stats-dump");
    // Little-endian IMG_SERVICE_MAGIC 0x55105940, then STATS_MAGIC 0x57093306.
    private static final int[] MAGICS = {0x40, 0x59, 0x10, 0x55, 0x06, 0x33, 0x09, 0x57};

    @TempDir
    Path images;

    @Test
    void readsTheDumpStatisticsCriu421Wrote() throws Exception {
        CriuDumpStatistics dump = CriuStatsImage.parseDump(resource("stats-dump"), SOURCE);

        // 08 92 01 | 10 80 40 | 18 dc 05 | 20 b4 01 | 28 39 | 30 00 | 38 1e | 40 00 | 48 00 | ...
        assertEquals(new CriuDumpStatistics(146, 8192, 732, 180, 57, 0, 30, 0), dump);
    }

    @Test
    void readsTheRestoreStatisticsCriu421Wrote() throws Exception {
        CriuRestoreStatistics restore = CriuStatsImage.parseRestore(resource("stats-restore"), SOURCE);

        // 08 00 | 10 00 | 18 02 | 20 99 1e | 28 1e
        assertEquals(new CriuRestoreStatistics(2, 3865, 0, 0, 30), restore);
    }

    @Test
    void readsAHandBuiltDumpEntryWithFieldsInAnyOrderAndUnknownOnesSkipped() throws Exception {
        byte[] image = image(
                0x0A, 0x1C, // stats_entry.dump, 28 bytes
                0x38, 0x80, 0x80, 0x04, // 7 pages_written = 65536
                0x08, 0x05, // 1 freezing_time = 5
                0x10, 0xC0, 0x84, 0x3D, // 2 frozen_time = 1000000
                0x18, 0xE8, 0x07, // 3 memdump_time = 1000
                0x20, 0xD0, 0x0F, // 4 memwrite_time = 2000
                0x28, 0x81, 0x80, 0x04, // 5 pages_scanned = 65537
                0x30, 0x01, // 6 pages_skipped_parent = 1
                0x70, 0x09, // 14 shpages_written: not used
                0x48, 0x02, // 9 pages_lazy = 2
                0x40, 0x03); // 8 irmap_resolve: not used

        assertEquals(new CriuDumpStatistics(5, 1_000_000, 1000, 2000, 65537, 1, 65536, 2),
                CriuStatsImage.parseDump(image, SOURCE));
    }

    @Test
    void readsAHandBuiltRestoreEntryAfterAnEmptyDumpEntry() throws Exception {
        byte[] image = image(
                0x0A, 0x00, // an empty dump entry, which the restore reader skips
                0x12, 0x0B, // stats_entry.restore, 11 bytes
                0x08, 0x07, 0x10, 0x08, 0x18, 0x10, 0x20, 0xA0, 0x1F, 0x28, 0x64);

        assertEquals(new CriuRestoreStatistics(16, 4000, 7, 8, 100), CriuStatsImage.parseRestore(image, SOURCE));
    }

    @Test
    void aWrongMagicIsNamed() {
        byte[] image = resourceUnchecked("stats-dump");
        image[4] = 0x07;

        IOException error = assertThrows(IOException.class, () -> CriuStatsImage.parseDump(image, SOURCE));

        assertEquals("CRIU statistics image /images/stats-dump is malformed: magics 0x55105940 0x57093307,"
                + " expected 0x55105940 0x57093306", error.getMessage());
    }

    @Test
    void aLengthThatDisagreesWithTheFileIsMalformed() {
        byte[] cutOff = java.util.Arrays.copyOf(resourceUnchecked("stats-dump"), 40);

        IOException error = assertThrows(IOException.class, () -> CriuStatsImage.parseDump(cutOff, SOURCE));

        assertTrue(error.getMessage().contains("its entry claims 34 bytes, the file holds 28"), error.getMessage());
    }

    @Test
    void aMissingRequiredFieldIsMalformedRatherThanZero() {
        // A dump entry without frozen_time (field 2).
        byte[] image = image(0x0A, 0x0E, 0x08, 0x01, 0x18, 0x01, 0x20, 0x01, 0x28, 0x01, 0x30, 0x01, 0x38, 0x01, 0x48, 0x01);

        IOException error = assertThrows(IOException.class, () -> CriuStatsImage.parseDump(image, SOURCE));

        assertTrue(error.getMessage().endsWith("its dump entry lacks field 2"), error.getMessage());
    }

    @Test
    void aKnownFieldOfTheWrongWireTypeIsMalformed() {
        byte[] image = image(0x0A, 0x03, 0x0A, 0x01, 0x00);

        IOException error = assertThrows(IOException.class, () -> CriuStatsImage.parseDump(image, SOURCE));

        assertTrue(error.getMessage().contains("field 1 has wire type 2, not a varint"), error.getMessage());
    }

    @Test
    void aDumpImageHasNoRestoreEntry() {
        IOException error = assertThrows(IOException.class,
                () -> CriuStatsImage.parseRestore(resourceUnchecked("stats-dump"), SOURCE));

        assertTrue(error.getMessage().endsWith("no restore entry"), error.getMessage());
    }

    @Test
    void aDirectoryWithoutStatisticsHasNoneAndOneWithThemIsRead() throws Exception {
        assertEquals(Optional.empty(), CriuStatsImage.readDump(images));
        assertEquals(Optional.empty(), CriuStatsImage.readRestore(images));

        Files.write(images.resolve(CriuStatsImage.DUMP_FILE), resource("stats-dump"));
        Files.write(images.resolve(CriuStatsImage.RESTORE_FILE), resource("stats-restore"));

        assertEquals(30, CriuStatsImage.readDump(images).orElseThrow().pagesWritten());
        assertEquals(30, CriuStatsImage.readRestore(images).orElseThrow().pagesRestored());
    }

    @Test
    void anOversizedFileIsNotRead() throws Exception {
        Files.write(images.resolve(CriuStatsImage.DUMP_FILE), new byte[5000]);

        IOException error = assertThrows(IOException.class, () -> CriuStatsImage.readDump(images));

        assertTrue(error.getMessage().contains("5000 bytes, more than a statistics image holds"), error.getMessage());
    }

    /** The magics, the entry's length, then the entry. */
    private static byte[] image(int... entry) {
        ByteArrayOutputStream image = new ByteArrayOutputStream();
        image.writeBytes(bytes(MAGICS));
        image.writeBytes(bytes(entry.length, 0, 0, 0));
        image.writeBytes(bytes(entry));
        return image.toByteArray();
    }

    static byte[] resource(String name) throws IOException {
        try (InputStream input = CriuStatsImageTest.class.getResourceAsStream(name)) {
            if (input == null) {
                throw new IOException("test resource " + name + " is missing");
            }
            return input.readAllBytes();
        }
    }

    private static byte[] resourceUnchecked(String name) {
        try {
            return resource(name);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
