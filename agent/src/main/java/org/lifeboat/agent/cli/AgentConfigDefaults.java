package org.lifeboat.agent.cli;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import org.lifeboat.agent.config.AgentConfig;
import org.lifeboat.agent.config.AgentConfigLoader;
import org.lifeboat.agent.config.HttpConfig;
import org.lifeboat.agent.config.InvalidConfigurationException;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Defaults the node's agent configuration gives the commands that talk to the agent: its socket
 * ({@code --socket}), its HTTP address ({@code --url}) and its prediction token file ({@code --token-file}),
 * so that a site that moved them needs no options. The file is read once, and only when one of these
 * is left out; when it is missing, unreadable (a user may not read it) or invalid, the options keep
 * their built-in defaults, the agent's own.
 */
final class AgentConfigDefaults implements IDefaultValueProvider {

    /** Where the RPM installs the agent's configuration. */
    static final Path AGENT_CONFIG = Path.of("/etc/lifeboat/agent.yaml");

    private final Path file;
    private final AgentConfigLoader loader;
    private boolean read;
    private Optional<AgentConfig> config = Optional.empty();

    AgentConfigDefaults(Path file, AgentConfigLoader loader) {
        this.file = Objects.requireNonNull(file, "file");
        this.loader = Objects.requireNonNull(loader, "loader");
    }

    @Override
    public String defaultValue(ArgSpec argument) {
        if (!(argument instanceof OptionSpec option)) {
            return null;
        }
        return switch (option.longestName()) {
            case "--socket" -> config().map(agent -> agent.socketPath().toString()).orElse(null);
            case "--url" -> config().flatMap(agent -> url(agent.http())).orElse(null);
            case "--token-file" -> config().map(agent -> agent.predictor().tokenFile().toString()).orElse(null);
            default -> null;
        };
    }

    /** Where a client on this node reaches the agent's HTTP server; none when the agent lets the system pick a port. */
    static Optional<String> url(HttpConfig http) {
        if (http.port() == 0) {
            return Optional.empty();
        }
        String host = switch (http.address()) {
            // Listening on every address, the agent answers on loopback too.
            case "0.0.0.0" -> "127.0.0.1";
            case "::", "::0", "[::]" -> "[::1]";
            default -> http.address().contains(":") && !http.address().startsWith("[") ? "[" + http.address() + "]" : http.address();
        };
        return Optional.of("http://" + host + ":" + http.port());
    }

    private Optional<AgentConfig> config() {
        if (!read) {
            read = true;
            try {
                // The agent warns of deprecated keys; its users need not hear of them at every command.
                config = Optional.of(loader.load(file, warning -> { }));
            } catch (InvalidConfigurationException | RuntimeException e) {
                // Missing, unreadable or invalid: the built-in defaults, which are the agent's own.
            }
        }
        return config;
    }
}
