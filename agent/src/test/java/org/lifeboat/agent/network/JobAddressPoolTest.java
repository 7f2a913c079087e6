package org.lifeboat.agent.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.config.JobNetworkConfig;

class JobAddressPoolTest {

    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-07T02:00:00Z"), ZoneOffset.UTC);
    private static final JobNetworkConfig THREE = new JobNetworkConfig("10.1.2.10-10.1.2.12", 24, null);

    @TempDir
    Path state;

    private final Set<Long> notOver = new HashSet<>();
    private int slurmQuestions;

    private JobAddressPool pool() {
        return new JobAddressPool(THREE, state.resolve("job-addresses"), () -> {
            slurmQuestions++;
            return Set.copyOf(notOver);
        }, CLOCK);
    }

    @Test
    void jobsGetTheRangesAddressesInTurnAndEachHoldsItsOwn() throws IOException {
        notOver.addAll(Set.of(1L, 2L, 3L));
        JobAddressPool pool = pool();

        assertEquals("10.1.2.10", pool.lease(1));
        assertEquals("10.1.2.11", pool.lease(2));
        assertEquals("10.1.2.12", pool.lease(3));
        assertEquals(Map.of(0x0a01020aL, 1L, 0x0a01020bL, 2L, 0x0a01020cL, 3L), pool.holders());
    }

    @Test
    void leasesOutliveTheAgent() throws IOException {
        notOver.addAll(Set.of(1L, 2L));
        pool().lease(1);

        assertEquals("10.1.2.11", pool().lease(2), "a restarted agent gave a held address again");
    }

    @Test
    void anAddressIsFreeAgainOnceSlurmSaysItsJobIsOver() throws IOException {
        notOver.addAll(Set.of(1L, 2L, 3L));
        JobAddressPool pool = pool();
        pool.lease(1);
        pool.lease(2);
        pool.lease(3);
        notOver.remove(2L);

        assertEquals("10.1.2.11", pool.lease(4));
        assertEquals(Map.of(0x0a01020aL, 1L, 0x0a01020bL, 4L, 0x0a01020cL, 3L), pool.holders());
    }

    @Test
    void aJobThatMovedAwayKeepsItsAddressWhileSlurmSaysItRuns() throws IOException {
        // Its epilog ran here, yet its address lives on with it on another node.
        notOver.addAll(Set.of(1L, 2L));
        JobAddressPool pool = pool();
        pool.lease(1);

        assertEquals("10.1.2.11", pool.lease(2));
    }

    @Test
    void aFullRangeIsAClearErrorAndLeasesNothing() throws IOException {
        notOver.addAll(Set.of(1L, 2L, 3L, 4L));
        JobAddressPool pool = pool();
        pool.lease(1);
        pool.lease(2);
        pool.lease(3);

        IOException error = assertThrows(IOException.class, () -> pool.lease(4));

        assertTrue(error.getMessage().contains("10.1.2.10-10.1.2.12"), error.getMessage());
        assertEquals(3, pool.holders().size());
    }

    @Test
    void whenSlurmCannotSayWhichJobsAreOverNoAddressIsGiven() throws IOException {
        notOver.add(1L);
        pool().lease(1);
        JobAddressPool blind = new JobAddressPool(THREE, state.resolve("job-addresses"), () -> {
            throw new IOException("slurmctld does not answer");
        }, CLOCK);

        IOException error = assertThrows(IOException.class, () -> blind.lease(2));

        assertEquals("slurmctld does not answer", error.getMessage());
        assertEquals(Map.of(0x0a01020aL, 1L), pool().holders());
    }

    @Test
    void aLeaseThatCannotBeReadKeepsItsAddressHeld() throws IOException {
        Path leases = Files.createDirectories(state.resolve("job-addresses"));
        Files.writeString(leases.resolve("10.1.2.10"), "{not json");
        notOver.add(2L);

        assertEquals("10.1.2.11", pool().lease(2));
        assertTrue(Files.exists(leases.resolve("10.1.2.10")), "an unreadable lease was reclaimed");
    }

    @Test
    void reclaimGivesBackTheLeasesOfJobsThatEndedWhileTheAgentWasAway() throws IOException {
        notOver.addAll(Set.of(1L, 2L));
        JobAddressPool pool = pool();
        pool.lease(1);
        pool.lease(2);
        notOver.clear();

        pool().reclaim();

        assertEquals(Map.of(), pool().holders());
    }

    @Test
    void slurmIsNotAskedWhileNoAddressIsHeld() throws IOException {
        pool().reclaim();
        pool().lease(1);

        assertEquals(0, slurmQuestions);
    }
}
