package org.lifeboat.agent.health;

import java.util.Objects;
import java.util.Optional;
import org.lifeboat.agent.criu.Criu;
import org.lifeboat.agent.criu.CriuException;
import org.lifeboat.agent.criu.CriuReadiness;
import org.lifeboat.agent.process.CommandRunner;

/**
 * CRIU: what the probe at start found, which decides for the agent's whole run whether migrations
 * may leave or reach this node, and, when it passed, that the binary still runs ({@code criu
 * --version}; `criu check` probes the kernel and is left to the start). A CRIU removed or broken by
 * an upgrade since the start shows here, though migrations are only refused after a restart.
 */
public final class CriuCheck implements DependencyCheck {

    private final CriuReadiness atStart;
    private final String binary;
    private final CommandRunner commands;

    public CriuCheck(CriuReadiness atStart, String binary, CommandRunner commands) {
        this.atStart = Objects.requireNonNull(atStart, "atStart");
        this.binary = Objects.requireNonNull(binary, "binary");
        this.commands = Objects.requireNonNull(commands, "commands");
    }

    @Override
    public DependencyState check() {
        Optional<String> unusable = atStart.unusableBecause();
        if (unusable.isPresent()) {
            return DependencyState.notReady(unusable.get() + " (found at the agent's start: migrations from and to this node"
                    + " are refused until it restarts)");
        }
        try {
            return DependencyState.ready("CRIU " + Criu.version(binary, commands) + ", `criu check` passed at the agent's start");
        } catch (CriuException e) {
            return DependencyState.notReady(e.getMessage() + " (it passed `criu check` at the agent's start)");
        }
    }
}
