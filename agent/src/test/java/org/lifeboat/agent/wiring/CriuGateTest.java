package org.lifeboat.agent.wiring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.criu.CriuCapabilities;
import org.lifeboat.agent.criu.CriuReadiness;
import org.lifeboat.agent.migration.MigrationException;
import org.lifeboat.agent.migration.TransferMode;

/** Post-copy only where CRIU has lazy pages and the kernel lets CRIU's lazy-page server size its pipes. */
class CriuGateTest {

    @TempDir
    Path directory;

    private CriuGate gate(boolean lazyPages, long pipeMaxSize) throws Exception {
        Path limit = Files.writeString(directory.resolve("pipe-max-size"), pipeMaxSize + "\n");
        return new CriuGate(CriuReadiness.found(new CriuCapabilities("4.2.1", true, Map.of("lazy-pages", lazyPages))), limit);
    }

    @Test
    void postCopyIsAllowedWithLazyPagesAndPipesBigEnough() throws Exception {
        CriuGate gate = gate(true, 4_194_304);

        assertEquals(Optional.empty(), gate.postCopyUnsupportedBecause());
        gate.requireMode(TransferMode.POST_COPY, "job 7");
    }

    @Test
    void theKernelsDefaultPipeLimitRefusesPostCopyAndSaysHowToRaiseIt() throws Exception {
        CriuGate gate = gate(true, 1_048_576);

        MigrationException refused = assertThrows(MigrationException.class, () -> gate.requireMode(TransferMode.POST_COPY, "job 7"));
        assertEquals(MigrationException.Reason.CRIU_UNUSABLE, refused.reason());
        assertTrue(refused.getMessage().contains("fs.pipe-max-size is 1048576 bytes"), refused.getMessage());
        assertTrue(refused.getMessage().contains("sysctl -w fs.pipe-max-size=4194304"), refused.getMessage());
        gate.requireMode(TransferMode.DISKLESS, "job 7");
    }

    @Test
    void aCriuWithoutLazyPagesRefusesPostCopyAndNothingElse() throws Exception {
        CriuGate gate = gate(false, 4_194_304);

        MigrationException refused = assertThrows(MigrationException.class, () -> gate.requireMode(TransferMode.POST_COPY, "job 7"));
        assertTrue(refused.getMessage().contains("has no lazy pages here"), refused.getMessage());
        assertEquals(Optional.empty(), gate.closedBecause());
        gate.requireMode(TransferMode.SHARED_FS, "job 7");
    }

    @Test
    void theKernelsOwnFileIsReadWholeThoughItAnswersNothingPastItsStart() throws Exception {
        Path real = Path.of("/proc/sys/fs/pipe-max-size");
        long limit = Long.parseLong(new String(new ProcessBuilder("cat", real.toString()).start().getInputStream().readAllBytes())
                .strip());
        CriuGate gate = new CriuGate(CriuReadiness.found(new CriuCapabilities("4.2.1", true, Map.of("lazy-pages", true))), real);

        Optional<String> refusal = gate.postCopyUnsupportedBecause();
        if (limit >= CriuGate.LAZY_PIPE_BYTES) {
            assertEquals(Optional.empty(), refusal);
        } else {
            assertTrue(refusal.orElseThrow().contains("fs.pipe-max-size is " + limit + " bytes"), refusal::toString);
        }
    }

    @Test
    void theLimitIsReadAtEachQuestionSoASiteMayRaiseItWhileTheAgentRuns() throws Exception {
        CriuGate gate = gate(true, 1_048_576);
        assertTrue(gate.postCopyUnsupportedBecause().isPresent());

        Files.writeString(directory.resolve("pipe-max-size"), "4194304\n");

        assertEquals(Optional.empty(), gate.postCopyUnsupportedBecause());
    }
}
