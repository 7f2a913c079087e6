package org.lifeboat.predictor.http;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Objects;

/**
 * The shared secret the prediction intakes may demand ({@code predictor.token-file}). Anyone who can post
 * a prediction can drain nodes, so a site that exposes the agent's HTTP port beyond root sets one;
 * Alertmanager sends it with {@code http_config.authorization.credentials_file}, {@code lifeboat predict}
 * reads the same file.
 */
public final class BearerToken {

    private final byte[] expectedHeader;

    private BearerToken(String token) {
        this.expectedHeader = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
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

    boolean admits(String authorizationHeader) {
        // Constant time: the comparison must not tell how much of a guess was right.
        return authorizationHeader != null
                && MessageDigest.isEqual(expectedHeader, authorizationHeader.getBytes(StandardCharsets.UTF_8));
    }
}
