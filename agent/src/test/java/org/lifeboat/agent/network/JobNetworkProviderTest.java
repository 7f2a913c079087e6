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
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.config.JobNetworkConfig;
import org.lifeboat.agent.process.FakeCommandRunner;

class JobNetworkProviderTest {

    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-07T02:00:00Z"), ZoneOffset.UTC);
    private static final JobNetworkConfig RANGE = new JobNetworkConfig("10.241.0.110-10.241.0.119", 24, "10.241.0.254");

    @TempDir
    Path state;
    @TempDir
    Path named;

    private final FakeCommandRunner commands = new FakeCommandRunner();
    private final Set<Long> notOver = new HashSet<>();
    private JobNetworkProvider provider(JobAddressPool addresses) {
        return new JobNetworkProvider(new JobNetworks(commands, Runnable::run), addresses, RANGE, "node1", "eth0", named,
                () -> Set.copyOf(notOver));
    }

    private JobAddressPool leases() {
        return new JobAddressPool(RANGE, state.resolve("job-addresses"), () -> Set.copyOf(notOver), CLOCK);
    }

    @Test
    void aJobsNetworkIsANamespaceWithAMacvlanHoldingALeasedAddress() throws IOException {
        for (int i = 0; i < 9; i++) {
            commands.answer(0, "", "");
        }
        JobAddressPool addresses = leases();

        assertEquals("lifeboat-job-42-node1", provider(addresses).provide(42));

        List<List<String>> run = commands.commands();
        assertEquals(List.of("ip", "netns", "add", "lifeboat-job-42-node1"), run.get(0));
        assertTrue(run.contains(List.of("ip", "link", "add", "link", "eth0", "name", run.get(3).get(6), "address",
                "02:00:0a:f1:00:6e", "type", "macvlan", "mode", "bridge")), run.toString());
        assertTrue(run.contains(List.of("ip", "-n", "lifeboat-job-42-node1", "address", "add", "10.241.0.110/24", "dev", "eth0")),
                run.toString());
        assertEquals(List.of("ip", "-n", "lifeboat-job-42-node1", "route", "add", "default", "via", "10.241.0.254"),
                run.get(run.size() - 1));
        assertEquals(Map.of(0x0af1006eL, 42L), addresses.holders());
    }

    @Test
    void aNetworkThatExistsIsTheJobsNextStepsToo() throws IOException {
        Files.createFile(named.resolve("lifeboat-job-42-node1"));
        JobAddressPool addresses = leases();

        assertEquals("lifeboat-job-42-node1", provider(addresses).provide(42));

        assertEquals(List.of(), commands.commands());
        assertEquals(Map.of(), addresses.holders());
    }

    @Test
    void aNetworkThatCannotBeMadeIsAnErrorNamingTheAddressAndUplink() {
        commands.answer(0, "", "").answer(0, "", "").answer(0, "", "").answer(2, "", "RTNETLINK answers: No such device")
                .answer(0, "", "");

        IOException error = assertThrows(IOException.class, () -> provider(leases()).provide(42));

        assertTrue(error.getMessage().contains("10.241.0.110 on eth0"), error.getMessage());
        assertTrue(error.getMessage().contains("No such device"), error.getMessage());
    }

    @Test
    void theInterfaceOfTheAddressesLastJobMayLingerAMoment() throws IOException {
        // ip netns add, sysctl, lo up, then the macvlan's MAC is still taken; the failed attempt is undone.
        commands.answer(0, "", "").answer(0, "", "").answer(0, "", "").answer(2, "", "RTNETLINK answers: Address already in use");
        for (int i = 0; i < 9; i++) {
            commands.answer(0, "", "");
        }

        assertEquals("lifeboat-job-42-node1", provider(leases()).provide(42));

        assertEquals(List.of("ip", "-n", "lifeboat-job-42-node1", "route", "add", "default", "via", "10.241.0.254"),
                commands.commands().get(commands.commands().size() - 1));
    }

    @Test
    void atJobEndItsEmptyNamesGoAndOtherJobsAndUsedNamesStay() throws IOException {
        for (String name : new String[] {"lifeboat-job-5-node1", "lifeboat-job-5-node3", "lifeboat-job-55-node1", "lbj-5"}) {
            Files.createFile(named.resolve(name));
        }
        commands.answer(0, "", "").answer(0, "", "").answer(0, "4242\n", "");

        provider(leases()).jobEnded(5);

        assertEquals(List.of(List.of("ip", "netns", "pids", "lifeboat-job-5-node1"),
                List.of("ip", "netns", "delete", "lifeboat-job-5-node1"),
                List.of("ip", "netns", "pids", "lifeboat-job-5-node3")), commands.commands());
    }

    @Test
    void atStartTheNamesAndLeasesOfJobsThatAreOverAreGivenBack() throws IOException {
        notOver.addAll(Set.of(5L, 6L));
        JobAddressPool addresses = leases();
        addresses.lease(5);
        addresses.lease(6);
        Files.createFile(named.resolve("lifeboat-job-5-node1"));
        Files.createFile(named.resolve("lifeboat-job-6-node1"));
        notOver.remove(5L);
        commands.answer(0, "", "").answer(0, "", "");

        provider(addresses).reclaim();

        assertEquals(List.of(List.of("ip", "netns", "pids", "lifeboat-job-5-node1"),
                List.of("ip", "netns", "delete", "lifeboat-job-5-node1")), commands.commands());
        assertEquals(Map.of(0x0af1006fL, 6L), addresses.holders());
    }

    @Test
    void theMacIsLocallyAdministeredAndMadeOfTheAddress() {
        assertEquals("02:00:0a:f1:00:6e", JobNetworkProvider.mac("10.241.0.110"));
    }
}
