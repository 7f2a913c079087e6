package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TargetRecordTest {

    @TempDir
    Path images;

    @Test
    void theTargetIsReadBackAsWritten() throws Exception {
        TargetRecord.Target target = new TargetRecord.Target("node2", new InetSocketAddress("10.241.0.2", 9465));
        TargetRecord.write(images, target);
        assertEquals(Optional.of(target), TargetRecord.read(images));
    }

    @Test
    void noRecordMeansTheMigrationNeverReachedItsTarget() throws Exception {
        assertEquals(Optional.empty(), TargetRecord.read(images));
    }

    @Test
    void aDamagedRecordIsAnError() throws Exception {
        Files.writeString(images.resolve(TargetRecord.FILE_NAME), "10.241.0.2 9465\n");
        assertThrows(java.io.IOException.class, () -> TargetRecord.read(images));
    }

    @Test
    void theJobComesFromTheMigrationId() {
        assertEquals(42, TargetRecord.jobOf("job42-1a2b3c4d"));
        assertEquals(0, TargetRecord.jobOf("../../etc"));
    }
}
