package org.lifeboat.agent.criu;

/**
 * How CRIU silences a job's network namespace while the job is frozen, so that its peers see no
 * FIN or RST. Chosen from the probe: nftables where this CRIU supports it (the iptables tools are
 * often not installed), else iptables, CRIU's own default.
 */
public enum NetworkLock {
    NFTABLES("nftables"),
    IPTABLES("iptables");

    private final String argument;

    NetworkLock(String argument) {
        this.argument = argument;
    }

    /** The value of CRIU's {@code --network-lock}. */
    public String argument() {
        return argument;
    }

    /** nftables when the probe found CRIU's support for it, else iptables. */
    public static NetworkLock choose(CriuCapabilities capabilities) {
        return capabilities.has(CriuCapabilities.NFTABLES_NETWORK_LOCK) ? NFTABLES : IPTABLES;
    }
}
