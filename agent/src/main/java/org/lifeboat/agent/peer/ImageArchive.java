package org.lifeboat.agent.peer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.logging.Logger;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * A CRIU image directory as a tar stream, for sending it to another agent. CRIU's image directory
 * is flat, so only the regular files directly in it travel; extraction trusts nothing in the
 * stream: one flat directory of regular files, within a byte budget, or nothing at all.
 */
public final class ImageArchive {

    private static final Logger LOG = Logger.getLogger(ImageArchive.class.getName());

    private ImageArchive() {}

    /**
     * Writes the regular files directly in {@code directory} as a tar to {@code out}, which is
     * flushed but not closed. Subdirectories, links and special files are skipped (and logged):
     * CRIU writes none.
     *
     * @return the bytes of file content written (headers and padding not counted)
     */
    public static long write(Path directory, OutputStream out) throws IOException {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
            for (Path entry : entries) {
                if (entry.getFileName().toString().startsWith(".")) {
                    LOG.fine(() -> "not archiving " + entry + ": dot files are the agent's own markers");
                } else if (Files.isRegularFile(entry, LinkOption.NOFOLLOW_LINKS)) {
                    files.add(entry);
                } else {
                    LOG.fine(() -> "not archiving " + entry + ": only regular files directly in the image directory travel");
                }
            }
        }
        files.sort(null);
        // Never closed: the caller owns the stream, and finish() writes everything a tar needs.
        TarArchiveOutputStream tar = new TarArchiveOutputStream(out);
        // Image names can be longer than tar's 100 bytes, and page images larger than its 8 GiB.
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        long content = 0;
        byte[] buffer = new byte[WireFormat.BUFFER_BYTES];
        for (Path file : files) {
            TarArchiveEntry entry = new TarArchiveEntry(file.getFileName().toString());
            long size = Files.size(file);
            entry.setSize(size);
            entry.setMode(0600);
            tar.putArchiveEntry(entry);
            // A log CRIU still appends to may grow while it is read: send what the header promised.
            try (InputStream in = Files.newInputStream(file)) {
                long left = size;
                while (left > 0) {
                    int read = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                    if (read < 0) {
                        throw new IOException(file + " shrank while it was archived");
                    }
                    tar.write(buffer, 0, read);
                    content += read;
                    left -= read;
                }
            }
            tar.closeArchiveEntry();
        }
        tar.finish();
        out.flush();
        return content;
    }

    /**
     * Extracts a tar written by {@link #write} into {@code directory}, as files of mode 0600. Refuses
     * the whole archive, deleting whatever it had extracted, if any entry is not a regular file, has
     * a name that is empty, contains '/' or "..", or starts with '.', names a file that exists or
     * came before, or if the contents would exceed {@code maxBytes}.
     *
     * @param maxBytes the space free for images in {@code directory}
     * @return the bytes of file content extracted
     */
    public static long extract(InputStream in, Path directory, long maxBytes) throws IOException {
        List<Path> extracted = new ArrayList<>();
        try {
            return extractInto(in, directory, maxBytes, extracted);
        } catch (IOException | RuntimeException e) {
            for (Path file : extracted) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            throw e;
        }
    }

    private static long extractInto(InputStream in, Path directory, long maxBytes, List<Path> extracted) throws IOException {
        TarArchiveInputStream tar = new TarArchiveInputStream(in);
        Set<String> names = new HashSet<>();
        long total = 0;
        byte[] buffer = new byte[WireFormat.BUFFER_BYTES];
        for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
            String name = entry.getName();
            checkName(name);
            if (!isPlainFile(entry)) {
                throw new IOException("refusing \"" + name + "\" in the images: not a regular file");
            }
            if (!names.add(name)) {
                throw new IOException("refusing \"" + name + "\" in the images: it appears twice");
            }
            if (entry.getSize() > maxBytes - total) {
                throw new IOException("images exceed the " + maxBytes + " bytes free in " + directory);
            }
            Path file = directory.resolve(name);
            // CREATE_NEW: never write through an existing file or a link someone placed there.
            try (OutputStream out = Files.newOutputStream(Files.createFile(file,
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))), StandardOpenOption.WRITE)) {
                extracted.add(file);
                for (int read = tar.read(buffer); read >= 0; read = tar.read(buffer)) {
                    out.write(buffer, 0, read);
                }
            }
            total += entry.getSize();
        }
        return total;
    }

    private static void checkName(String name) throws IOException {
        if (name.isEmpty() || name.contains("/") || name.contains("..") || name.startsWith(".") || name.indexOf('\0') >= 0) {
            throw new IOException("refusing \"" + name + "\" in the images: an image name is one plain file name");
        }
    }

    private static boolean isPlainFile(TarArchiveEntry entry) {
        byte type = entry.getLinkFlag();
        return (type == TarConstants.LF_NORMAL || type == TarConstants.LF_OLDNORM) && !entry.isSparse();
    }
}
