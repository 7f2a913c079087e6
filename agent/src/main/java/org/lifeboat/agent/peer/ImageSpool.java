package org.lifeboat.agent.peer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;

/**
 * The image tar on the target, between its arrival and the restore: kept whole in one file and
 * unpacked only once its SHA-256 matches the one the source sealed into its restore request. The
 * tar's bytes themselves are sealed by nothing, so until then nothing in them may reach a file
 * CRIU reads.
 */
public final class ImageSpool {

    /** A name {@link ImageArchive} never extracts (it starts with a dot), so it cannot collide with an image. */
    static final String FILE_NAME = ".images.tar";
    /** The spooled tar is missing, or its digest is not the one the source sealed. */
    public static final String IMAGES_REFUSED = "images-refused";

    private final Path directory;

    /** The spool of the images for {@code directory}, which also holds the spool file. */
    public ImageSpool(Path directory) {
        this.directory = Objects.requireNonNull(directory, "directory");
    }

    /**
     * Writes the tar to the spool file, which must not exist yet (one tar per migration).
     *
     * @param maxBytes the space free for it
     * @return the bytes spooled
     */
    public long receive(InputStream tar, long maxBytes) throws IOException {
        // CREATE_NEW: a second tar must neither replace nor remove the first.
        Path file = Files.createFile(directory.resolve(FILE_NAME),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        long total = 0;
        try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.WRITE)) {
            byte[] buffer = new byte[WireFormat.BUFFER_BYTES];
            for (int read = tar.read(buffer); read >= 0; read = tar.read(buffer)) {
                total += read;
                if (total > maxBytes) {
                    throw new IOException("the image tar exceeds the " + maxBytes + " bytes free in " + directory);
                }
                out.write(buffer, 0, read);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(file);
            throw e;
        }
        return total;
    }

    /**
     * Checks the spooled tar against the digest the source sealed, then extracts it (see
     * {@link ImageArchive#extract}) into the directory and deletes the spool file.
     *
     * @param sealedSha256 the tar's SHA-256 (hex) from the source's sealed request
     * @param maxBytes the space free for the extracted images
     * @return the bytes of file content extracted
     * @throws PeerRequestException {@link #IMAGES_REFUSED}: no tar, or not the one the source sent; nothing extracted
     */
    public long unpack(String sealedSha256, long maxBytes) throws IOException, PeerRequestException {
        Path file = directory.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new PeerRequestException(IMAGES_REFUSED, "no image tar has arrived in " + directory);
        }
        BodyDigest digest = new BodyDigest();
        try (InputStream in = Files.newInputStream(file)) {
            digest.reading(in).transferTo(OutputStream.nullOutputStream());
        }
        String received = digest.sha256Hex();
        if (!received.equals(sealedSha256)) {
            throw new PeerRequestException(IMAGES_REFUSED, "the image tar in " + directory + " has SHA-256 " + received
                    + ", the source sealed " + sealedSha256 + ": not restoring from it");
        }
        long extracted;
        try (InputStream in = Files.newInputStream(file)) {
            extracted = ImageArchive.extract(in, directory, maxBytes);
        }
        Files.delete(file);
        return extracted;
    }
}
