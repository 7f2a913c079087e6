package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class SlurmHandoverTest {

    @Test
    void theRecordIsOneTokenWithFromToWhenAndDowntime() {
        assertEquals("lifeboat-migrated:node1->node2@2026-11-22T04:18:55Z,downtime=1932ms",
                SlurmHandover.record("node1", "node2", Instant.parse("2026-11-22T04:18:55.734Z"), 1932));
    }
}
