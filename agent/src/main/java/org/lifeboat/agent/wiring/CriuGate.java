package org.lifeboat.agent.wiring;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import org.lifeboat.agent.criu.CriuReadiness;
import org.lifeboat.agent.migration.MigrationGate;

/**
 * The gate as this node decides it: no migration without a usable CRIU; no post-copy without CRIU's
 * lazy pages, nor with pipes too small for CRIU's lazy-page server.
 */
final class CriuGate implements MigrationGate {

    /**
     * CRIU's lazy-page server sends each page run through one pipe it sizes to 819 pages (CRIU 4.2,
     * PIPE_MAX_SIZE): above Linux's default fs.pipe-max-size (1 MiB) for anyone without
     * CAP_SYS_RESOURCE, which CRIU run as the job's owner never has. The resize failing goes
     * unchecked in CRIU, and the transfer then fails at the first page ("splice: Bad file
     * descriptor"), measured here: so the site must raise the limit (the RPM's sysctl.d file does).
     */
    static final long LAZY_PIPE_BYTES = 819L * 4096;

    private final CriuReadiness readiness;
    private final Path pipeMaxSize;

    /** @param pipeMaxSize /proc/sys/fs/pipe-max-size, read at each question: a site may raise it while the agent runs */
    CriuGate(CriuReadiness readiness, Path pipeMaxSize) {
        this.readiness = Objects.requireNonNull(readiness, "readiness");
        this.pipeMaxSize = Objects.requireNonNull(pipeMaxSize, "pipeMaxSize");
    }

    @Override
    public Optional<String> closedBecause() {
        return readiness.unusableBecause();
    }

    @Override
    public Optional<String> postCopyUnsupportedBecause() {
        Optional<String> criu = readiness.lazyPagesUnsupportedBecause();
        if (criu.isPresent()) {
            return criu;
        }
        long limit;
        // One read: a sysctl file answers a read past its start with nothing, and Files.readString of a
        // file whose size shows as 0 reads a byte first (measured: "4" of 4194304).
        try (InputStream in = Files.newInputStream(pipeMaxSize)) {
            limit = Long.parseLong(new String(in.readNBytes(64), StandardCharsets.US_ASCII).strip());
        } catch (IOException | NumberFormatException e) {
            return Optional.of("cannot read " + pipeMaxSize + ": " + e.getMessage());
        }
        return limit >= LAZY_PIPE_BYTES ? Optional.empty() : Optional.of("fs.pipe-max-size is " + limit + " bytes, less than the "
                + LAZY_PIPE_BYTES + " CRIU's lazy-page server needs: raise it (sysctl -w fs.pipe-max-size=4194304)");
    }
}
