package org.lifeboat.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class JobNetworkConfigTest {

    @Test
    void byDefaultANodeGivesNoAddresses() {
        JobNetworkConfig defaults = AgentConfig.defaults().jobNetwork();

        assertFalse(defaults.enabled());
        assertEquals(24, defaults.prefixLength());
        assertEquals(Optional.empty(), defaults.gateway());
        assertThrows(IllegalStateException.class, defaults::firstAddress);
    }

    @Test
    void aRangeIsReadAsNumbersAndPrintedBack() {
        JobNetworkConfig config = new JobNetworkConfig(" 10.1.2.10 - 10.1.2.19 ", 24, "10.1.2.1");

        assertTrue(config.enabled());
        assertEquals("10.1.2.10", JobNetworkConfig.format(config.firstAddress()));
        assertEquals("10.1.2.19", JobNetworkConfig.format(config.lastAddress()));
        assertEquals(Optional.of("10.1.2.1"), config.gateway());
    }

    @Test
    void aRangeMayHoldOneAddress() {
        JobNetworkConfig config = new JobNetworkConfig("192.168.0.7-192.168.0.7", null, null);

        assertEquals(config.firstAddress(), config.lastAddress());
    }

    @Test
    void malformedRangesNameTheirKey() {
        for (String range : new String[] {"10.1.2.10", "10.1.2.10-", "10.1.2.19-10.1.2.10", "10.1.2.300-10.1.2.310",
                "10.1.2.10-10.1.2.11-10.1.2.12", "a.b.c.d-10.1.2.1", "10.0.0.0-10.2.0.0"}) {
            assertEquals("job-network.addresses", assertThrows(InvalidConfigValueException.class,
                    () -> new JobNetworkConfig(range, 16, null), range).key(), range);
        }
    }

    @Test
    void aRangeMustLieInOneNetworkOfThePrefixLength() {
        InvalidConfigValueException error = assertThrows(InvalidConfigValueException.class,
                () -> new JobNetworkConfig("10.1.2.250-10.1.3.5", 24, null));

        assertEquals("job-network.addresses", error.key());
        assertTrue(error.getMessage().contains("more than one /24"), error.getMessage());
        assertEquals("10.1.3.5", JobNetworkConfig.format(new JobNetworkConfig("10.1.2.250-10.1.3.5", 16, null).lastAddress()));
    }

    @Test
    void theGatewayMustBeOnTheAddressesNetwork() {
        assertEquals("job-network.gateway", assertThrows(InvalidConfigValueException.class,
                () -> new JobNetworkConfig("10.1.2.10-10.1.2.19", 24, "10.1.3.1")).key());
        assertEquals("job-network.gateway", assertThrows(InvalidConfigValueException.class,
                () -> new JobNetworkConfig("10.1.2.10-10.1.2.19", 24, "gateway")).key());
    }

    @Test
    void prefixLengthsOutsideEightToThirtyAreRefused() {
        assertEquals("job-network.prefix-length", assertThrows(InvalidConfigValueException.class,
                () -> new JobNetworkConfig(null, 7, null)).key());
        assertEquals("job-network.prefix-length", assertThrows(InvalidConfigValueException.class,
                () -> new JobNetworkConfig(null, 31, null)).key());
    }
}
