package org.lifeboat.predictor.http;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Set;
import java.util.logging.Logger;

/**
 * The shared secret every prediction intake demands ({@code predictor.token-file}, by default
 * {@code /etc/lifeboat/prediction-token}): anyone who can post a prediction can drain nodes, and every
 * local user can reach the agent's HTTP port. Alertmanager sends it with
 * {@code http_config.authorization.credentials_file}; {@code lifeboat predict} reads the same file, so only
 * root's runs are accepted.
 */
public final class BearerToken {

    // 256 bits: beyond guessing, and short enough to paste into a secret store.
    private static final int GENERATED_BYTES = 32;
    private static final Set<PosixFilePermission> OWNER_ONLY = EnumSet.of(PosixFilePermission.OWNER_READ,
            PosixFilePermission.OWNER_WRITE);
    private static final Logger LOG = Logger.getLogger(BearerToken.class.getName());

    private final String token;
    private final byte[] expectedHeader;

    private BearerToken(String token) {
        this.token = token;
        this.expectedHeader = authorizationHeader().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The agent's side. A missing file is created with a new random token, mode 0600: a fresh install then
     * has a secret only root can read, which root's {@code lifeboat predict} finds without a step of the
     * admin's, and which the admin copies to Alertmanager (or replaces with the cluster's own before the
     * first start). An existing file must be a regular file of the agent's user that no one else may read.
     */
    public static BearerToken readOrCreate(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        if (Files.notExists(file, LinkOption.NOFOLLOW_LINKS)) {
            create(file);
        }
        requireOwnerOnly(file);
        return readFrom(file);
    }

    /** Reads the token: the file's content without surrounding white space, which must not be empty. */
    public static BearerToken readFrom(Path file) throws IOException {
        String token = Files.readString(Objects.requireNonNull(file, "file"), StandardCharsets.UTF_8).strip();
        if (token.isEmpty() || token.chars().anyMatch(c -> c <= ' ' || c == 0x7f)) {
            throw new IOException("token file " + file + " must hold one token without spaces");
        }
        return new BearerToken(token);
    }

    static BearerToken of(String token) {
        return new BearerToken(token);
    }

    /** The header value that carries this token. */
    public String authorizationHeader() {
        return "Bearer " + token;
    }

    boolean admits(String authorizationHeader) {
        // Constant time: the comparison must not tell how much of a guess was right.
        return authorizationHeader != null
                && MessageDigest.isEqual(expectedHeader, authorizationHeader.getBytes(StandardCharsets.UTF_8));
    }

    /** Written under a temporary name and renamed, so that the file appears whole or not at all. */
    private static void create(Path file) throws IOException {
        Path directory = file.toAbsolutePath().getParent();
        byte[] random = new byte[GENERATED_BYTES];
        new SecureRandom().nextBytes(random);
        Path temporary;
        try {
            temporary = Files.createTempFile(directory, ".prediction-token", ".tmp", PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        } catch (NoSuchFileException e) {
            throw new IOException("cannot create the token file " + file + ": " + directory + " does not exist", e);
        }
        try {
            Files.writeString(temporary, HexFormat.of().formatHex(random) + "\n", StandardCharsets.US_ASCII);
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temporary);
        }
        LOG.info("created the prediction token " + file + " (mode 0600); give it to Alertmanager's credentials_file");
    }

    private static void requireOwnerOnly(Path file) throws IOException {
        PosixFileAttributes attributes = Files.readAttributes(file, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!attributes.isRegularFile()) {
            throw new IOException("token file " + file + " must be a regular file (not a link or directory)");
        }
        String agentUser = System.getProperty("user.name");
        if (!attributes.owner().getName().equals(agentUser)) {
            throw new IOException("token file " + file + " belongs to " + attributes.owner().getName()
                    + ", not to the agent's user " + agentUser + ": chown it");
        }
        Set<PosixFilePermission> permissions = attributes.permissions();
        if (permissions.stream().anyMatch(permission -> !permission.name().startsWith("OWNER_"))) {
            throw new IOException("token file " + file + " is open to other users (" + PosixFilePermissions.toString(permissions)
                    + "): a secret others can read is no secret; chmod 600 it");
        }
    }
}
