package org.lifeboat.agent.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.process.FakeCommandRunner;

/** A restored job's network: deaf under a name of its own until the copy resumes. */
class JobNetworksTest {

    private static final JobNetwork NETWORK = new JobNetwork("lifeboat-job-42-node1", "eth0", "02:00:0a:f1:00:6e",
            List.of("10.241.0.110/24"), null);

    private final FakeCommandRunner commands = new FakeCommandRunner();
    private final JobNetworks networks = new JobNetworks(commands, Runnable::run);

    @Test
    void aRestoringNetworkHasItsOwnNameAndMacAndAnswersNoArp() throws Exception {
        for (int i = 0; i < 9; i++) {
            commands.answer(0, "", "");
        }

        networks.createDeaf(JobNetworks.restoring(NETWORK, "job42-abcdef12"), "eth0", "job42-abcdef12");

        List<List<String>> run = commands.commands();
        assertEquals(List.of("ip", "netns", "add", "lifeboat-in-job42-abcdef12"), run.get(0));
        List<String> macvlan = run.get(3);
        String mac = macvlan.get(macvlan.indexOf("address") + 1);
        assertTrue(mac.startsWith("02:01:"), mac);
        assertFalse(mac.equals(NETWORK.mac()));
        assertTrue(run.contains(List.of("ip", "-n", "lifeboat-in-job42-abcdef12", "link", "set", "eth0", "arp", "off")), run::toString);
        assertTrue(run.indexOf(List.of("ip", "-n", "lifeboat-in-job42-abcdef12", "link", "set", "eth0", "arp", "off"))
                < run.indexOf(List.of("ip", "-n", "lifeboat-in-job42-abcdef12", "link", "set", "eth0", "up")), "heard before deaf");
    }

    @Test
    void revealedItTakesTheJobsMacAndForgetsWhatItResolvedDeaf() throws Exception {
        commands.answer(0, "", "").answer(0, "", "");

        networks.reveal(NETWORK);

        assertEquals(List.of(
                List.of("ip", "-n", "lifeboat-job-42-node1", "link", "set", "eth0", "address", "02:00:0a:f1:00:6e", "arp", "on"),
                List.of("ip", "-n", "lifeboat-job-42-node1", "neigh", "flush", "dev", "eth0")), commands.commands());
    }

    @Test
    void aJobsOwnNetworkIsHeardFromTheStart() throws Exception {
        for (int i = 0; i < 8; i++) {
            commands.answer(0, "", "");
        }

        networks.create(NETWORK, "eth0");

        assertTrue(commands.commands().stream().noneMatch(command -> command.contains("arp")), commands.commands()::toString);
        assertTrue(commands.commands().get(3).contains(NETWORK.mac()));
    }
}
