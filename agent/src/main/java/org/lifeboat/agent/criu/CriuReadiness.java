package org.lifeboat.agent.criu;

import java.util.Objects;
import java.util.Optional;
import java.util.logging.Logger;
import org.lifeboat.agent.process.CommandRunner;

/**
 * What the probe at start found of this node's CRIU, and what follows from it: whether migrations
 * from and to this node can work at all (and if not, the reason /health and every refusal give),
 * and which network lock a dump uses.
 */
public final class CriuReadiness {

    private static final Logger LOG = Logger.getLogger(CriuReadiness.class.getName());
    /** The feature post-copy needs, under the name the probe reports it (see {@link Criu#probe}). */
    static final String LAZY_PAGES_FEATURE = "lazy-pages";

    private final Optional<CriuCapabilities> capabilities;
    private final Optional<String> unusableBecause;

    private CriuReadiness(Optional<CriuCapabilities> capabilities, Optional<String> unusableBecause) {
        this.capabilities = capabilities;
        this.unusableBecause = unusableBecause;
    }

    /** CRIU ran: usable if `criu check` passed. */
    public static CriuReadiness found(CriuCapabilities capabilities) {
        Objects.requireNonNull(capabilities, "capabilities");
        return new CriuReadiness(Optional.of(capabilities), capabilities.checkPassed()
                ? Optional.empty()
                : Optional.of("`criu check` failed with CRIU " + capabilities.version()));
    }

    /** CRIU could not be run at all (missing, not executable, printed no version). */
    public static CriuReadiness missing(String reason) {
        return new CriuReadiness(Optional.empty(), Optional.of("no usable CRIU: " + Objects.requireNonNull(reason, "reason")));
    }

    /** Probes {@code binary} and logs, once, what was found and what migrations will do about it. */
    public static CriuReadiness probe(String binary, CommandRunner commands) {
        CriuReadiness readiness;
        try {
            readiness = found(Criu.probe(binary, commands));
        } catch (CriuException e) {
            readiness = missing(e.getMessage());
        }
        readiness.log();
        return readiness;
    }

    /** Why migrations from and to this node cannot work; empty when CRIU ran and `criu check` passed. */
    public Optional<String> unusableBecause() {
        return unusableBecause;
    }

    /** The probe's findings; empty when CRIU could not be run. */
    public Optional<CriuCapabilities> capabilities() {
        return capabilities;
    }

    /** Why this node can take no post-copy migration; empty when the probe found CRIU's lazy pages. */
    public Optional<String> lazyPagesUnsupportedBecause() {
        if (capabilities.isEmpty()) {
            return unusableBecause;
        }
        return Boolean.TRUE.equals(capabilities.get().features().get(LAZY_PAGES_FEATURE))
                ? Optional.empty()
                : Optional.of("CRIU " + capabilities.get().version() + " has no lazy pages here (criu check --feature"
                        + " uffd-noncoop failed: the kernel's userfaultfd lacks what CRIU needs)");
    }

    /** The lock the probe allows; iptables, CRIU's default, when CRIU could not be probed (no dump runs then). */
    public NetworkLock networkLock() {
        return capabilities.map(NetworkLock::choose).orElse(NetworkLock.IPTABLES);
    }

    private void log() {
        capabilities.ifPresent(found -> LOG.info("CRIU " + found.version() + ", criu check "
                + (found.checkPassed() ? "passed" : "FAILED") + ", features " + found.features() + "; jobs with their own"
                + " network are locked with " + networkLock().argument() + (networkLock() == NetworkLock.NFTABLES
                        ? "" : " (this CRIU has no nftables network lock: the iptables tools must be installed)")));
        unusableBecause.ifPresent(reason -> LOG.severe(reason + ": migrations from and to this node are refused"));
    }
}
