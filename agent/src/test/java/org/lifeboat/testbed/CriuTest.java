package org.lifeboat.testbed;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/** The testbed's CRIU is one that works on this kernel (Debian 12's 3.17 does not). */
@TestbedIntegration
final class CriuTest {

    @Test
    void criuIsVersionFourOrLaterAndPassesItsOwnCheck(Testbed testbed) {
        assertTrue(Files.isExecutable(testbed.criu()), () -> testbed.criu() + " is missing: run testbed/criu.sh");
        String version = testbed.run(testbed.criu().toString(), "--version").orThrow().stdout();
        assertTrue(version.matches("(?s).*Version: ([4-9]|\\d{2,})\\..*"), version);

        CommandResult check = testbed.run(testbed.criu().toString(), "check").orThrow();
        assertTrue((check.stdout() + check.stderr()).contains("Looks good"), check.describe());
    }
}
