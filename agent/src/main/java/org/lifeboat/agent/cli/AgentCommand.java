package org.lifeboat.agent.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.logging.Logger;
import org.lifeboat.agent.config.AgentConfig;
import org.lifeboat.agent.config.AgentConfigLoader;
import org.lifeboat.agent.config.InvalidConfigurationException;
import org.lifeboat.agent.lifecycle.LifeCycleManager;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.ProcessCommandRunner;
import org.lifeboat.agent.wiring.AgentWiring;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * {@code lifeboat agent --config FILE}: runs the node agent until the JVM is told to shut down.
 * {@code lifeboat agent --check-config FILE}: checks the file as that start would, and starts nothing.
 */
@Command(
        name = "agent",
        mixinStandardHelpOptions = true,
        description = {"Runs the Lifeboat node agent until it receives SIGTERM.",
            "With --check-config, checks a configuration file as the agent's start would (every key, type and value,"
                    + " and that the uplink interface exists on this node) and starts nothing."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:stopped cleanly; with --check-config, the file is valid",
            "1:failed to start or failed while running",
            "2:invalid command line",
            "3:invalid configuration file",
            "143:stopped by SIGTERM"
        })
final class AgentCommand implements Callable<Integer> {

    static final int EXIT_STARTUP_FAILURE = 1;
    static final int EXIT_INVALID_CONFIGURATION = 3;

    private static final Logger LOG = Logger.getLogger(AgentCommand.class.getName());

    private final AgentConfigLoader configLoader;
    private final String version;

    @Spec
    private CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    private ConfigFile configFile;

    /** Run with a configuration file, or only check one. */
    static final class ConfigFile {

        @Option(names = "--config", required = true, paramLabel = "FILE", description = "Run with this YAML configuration file.")
        private Path run;

        @Option(names = "--check-config", required = true, paramLabel = "FILE",
                description = "Check this YAML configuration file, print \"FILE: ok\" and exit; deprecated keys are warned of.")
        private Path check;
    }

    AgentCommand(AgentConfigLoader configLoader, String version) {
        this.configLoader = Objects.requireNonNull(configLoader, "configLoader");
        this.version = Objects.requireNonNull(version, "version");
    }

    /** Loads the configuration, builds the agent, starts it and waits until it is told to stop. */
    @Override
    public Integer call() throws InterruptedException {
        if (configFile.check != null) {
            return checkConfig(configFile.check);
        }
        AgentConfig config;
        try {
            config = configLoader.loadForThisNode(configFile.run, LOG::warning);
        } catch (InvalidConfigurationException e) {
            spec.commandLine().getErr().println(e.getMessage());
            return EXIT_INVALID_CONFIGURATION;
        }
        AgentWiring agent;
        try {
            agent = AgentWiring.build(config, version, new ProcessCommandRunner(), System.getenv());
            agent.lifeCycle().start();
        } catch (IOException | CommandException e) {
            spec.commandLine().getErr().println("lifeboat agent failed to start: " + e.getMessage());
            return EXIT_STARTUP_FAILURE;
        }
        LifeCycleManager lifeCycle = agent.lifeCycle();
        lifeCycle.stopOnShutdown();
        LOG.info("lifeboat agent " + version + " started on node " + config.nodeName()
                + ", socket " + config.socketPath() + ", http on " + hostAndPort(agent.httpServer().boundAddress()));
        lifeCycle.awaitStop();
        return CommandLine.ExitCode.OK;
    }

    private int checkConfig(Path file) {
        PrintWriter err = spec.commandLine().getErr();
        try {
            configLoader.loadForThisNode(file, warning -> err.println("warning: " + warning));
        } catch (InvalidConfigurationException e) {
            err.println(e.getMessage());
            return EXIT_INVALID_CONFIGURATION;
        }
        spec.commandLine().getOut().println(file + ": ok");
        return CommandLine.ExitCode.OK;
    }

    private static String hostAndPort(InetSocketAddress address) {
        String host = address.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
    }
}
