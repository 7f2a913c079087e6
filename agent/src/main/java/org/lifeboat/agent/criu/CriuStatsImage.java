package org.lifeboat.agent.criu;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/**
 * Reads CRIU's own statistics, which every successful dump and restore leaves in its work
 * directory (the image directory, as the agent runs CRIU) as {@code stats-dump} and
 * {@code stats-restore}. The format, from CRIU's sources (criu/include/magic.h, criu/image.c,
 * images/stats.proto): two little-endian 32-bit magics, IMG_SERVICE_MAGIC then STATS_MAGIC; then
 * one entry, a little-endian 32-bit length followed by that many bytes of a protobuf
 * {@code stats_entry} {dump = 1: dump_stats_entry, restore = 2: restore_stats_entry}. CRIU writes
 * no stats-dump when the post-dump script rolls the dump back.
 */
public final class CriuStatsImage {

    public static final String DUMP_FILE = "stats-dump";
    public static final String RESTORE_FILE = "stats-restore";
    static final int IMG_SERVICE_MAGIC = 0x55105940;
    static final int STATS_MAGIC = 0x57093306;
    // The real files are 25 to 50 bytes; anything much larger is not one.
    private static final int MAX_BYTES = 4096;
    private static final int HEADER_BYTES = 12;

    private CriuStatsImage() {}

    /** The dump's statistics from its image directory; empty if CRIU wrote none there. */
    public static Optional<CriuDumpStatistics> readDump(Path imageDirectory) throws IOException {
        Optional<byte[]> bytes = read(imageDirectory.resolve(DUMP_FILE));
        return bytes.isEmpty() ? Optional.empty() : Optional.of(parseDump(bytes.get(), imageDirectory.resolve(DUMP_FILE)));
    }

    /** The restore's statistics from its image directory; empty if CRIU wrote none there. */
    public static Optional<CriuRestoreStatistics> readRestore(Path imageDirectory) throws IOException {
        Optional<byte[]> bytes = read(imageDirectory.resolve(RESTORE_FILE));
        return bytes.isEmpty() ? Optional.empty()
                : Optional.of(parseRestore(bytes.get(), imageDirectory.resolve(RESTORE_FILE)));
    }

    static CriuDumpStatistics parseDump(byte[] image, Path source) throws IOException {
        // Field numbers of dump_stats_entry: 1 freezing_time, 2 frozen_time, 3 memdump_time,
        // 4 memwrite_time, 5 pages_scanned, 6 pages_skipped_parent, 7 pages_written, 9 pages_lazy
        // (all "required"); 8 irmap_resolve and the page-pipe and shared-memory counts are not used.
        long[] values = fields(entry(image, source, 1, "dump"), source, "dump", 1, 2, 3, 4, 5, 6, 7, 9);
        return new CriuDumpStatistics(values[1], values[2], values[3], values[4], values[5], values[6], values[7], values[9]);
    }

    static CriuRestoreStatistics parseRestore(byte[] image, Path source) throws IOException {
        // Field numbers of restore_stats_entry: 1 pages_compared, 2 pages_skipped_cow,
        // 3 forking_time, 4 restore_time (all "required"), 5 pages_restored (written since CRIU 3.x).
        long[] values = fields(entry(image, source, 2, "restore"), source, "restore", 1, 2, 3, 4, 5);
        return new CriuRestoreStatistics(values[3], values[4], values[1], values[2], values[5]);
    }

    private static Optional<byte[]> read(Path file) throws IOException {
        try {
            if (Files.size(file) > MAX_BYTES) {
                throw malformed(file, Files.size(file) + " bytes, more than a statistics image holds");
            }
            return Optional.of(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /** The nested message {@code field} of the file's stats_entry, after checking the header. */
    private static ProtobufReader entry(byte[] image, Path source, int field, String name) throws IOException {
        if (image.length < HEADER_BYTES) {
            throw malformed(source, "only " + image.length + " bytes");
        }
        ByteBuffer header = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        int serviceMagic = header.getInt();
        int statsMagic = header.getInt();
        if (serviceMagic != IMG_SERVICE_MAGIC || statsMagic != STATS_MAGIC) {
            throw malformed(source, String.format("magics 0x%08x 0x%08x, expected 0x%08x 0x%08x", serviceMagic, statsMagic,
                    IMG_SERVICE_MAGIC, STATS_MAGIC));
        }
        long length = Integer.toUnsignedLong(header.getInt());
        if (length != image.length - HEADER_BYTES) {
            throw malformed(source, "its entry claims " + length + " bytes, the file holds " + (image.length - HEADER_BYTES));
        }
        byte[] message = new byte[(int) length];
        header.get(message);
        try {
            ProtobufReader entry = new ProtobufReader(message);
            ProtobufReader wanted = null;
            while (entry.hasMore()) {
                ProtobufReader.Key key = entry.nextKey();
                if (key.field() == field && key.wireType() == ProtobufReader.LENGTH_DELIMITED) {
                    wanted = entry.readMessage();
                } else {
                    entry.skip(key.wireType());
                }
            }
            if (wanted == null) {
                throw new IOException("no " + name + " entry");
            }
            return wanted;
        } catch (IOException e) {
            throw malformed(source, e.getMessage());
        }
    }

    /**
     * The message's varint fields, indexed by field number, each of {@code required} present: a
     * missing one would otherwise read as a plausible 0. Other fields are skipped.
     */
    private static long[] fields(ProtobufReader message, Path source, String name, int... required) throws IOException {
        long[] values = new long[Arrays.stream(required).max().orElse(0) + 1];
        boolean[] seen = new boolean[values.length];
        try {
            while (message.hasMore()) {
                ProtobufReader.Key key = message.nextKey();
                if (key.field() >= values.length) {
                    message.skip(key.wireType());
                    continue;
                }
                if (key.wireType() != ProtobufReader.VARINT) {
                    throw new IOException("field " + key.field() + " has wire type " + key.wireType() + ", not a varint");
                }
                values[key.field()] = message.readVarint();
                seen[key.field()] = true;
            }
        } catch (IOException e) {
            throw malformed(source, "its " + name + " entry: " + e.getMessage());
        }
        for (int field : required) {
            if (!seen[field]) {
                throw malformed(source, "its " + name + " entry lacks field " + field);
            }
        }
        return values;
    }

    private static IOException malformed(Path source, String detail) {
        return new IOException("CRIU statistics image " + source + " is malformed: " + detail);
    }
}
