package org.lifeboat.agent.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.lifeboat.agent.AgentVersion;
import org.lifeboat.agent.config.AgentConfigLoader;
import org.lifeboat.agent.logging.AgentLogging;
import org.lifeboat.agent.process.CommandRunner;
import org.lifeboat.agent.process.ProcessCommandRunner;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The {@code lifeboat} command line; its subcommands do the work. */
@Command(
        name = "lifeboat",
        mixinStandardHelpOptions = true,
        versionProvider = AgentVersionProvider.class,
        description = "Fault-tolerance agent for Slurm clusters: live-migrates jobs off failing nodes with CRIU.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:done; each command's --help lists its own exit codes",
            "2:invalid command line (no or an unknown command, a bad option or value)"
        })
public final class LifeboatCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    public static void main(String[] arguments) {
        AgentLogging.install();
        System.exit(commandLine().execute(arguments));
    }

    /** The full command tree with its real dependencies; main and tests run the same one. */
    public static CommandLine commandLine() {
        return commandLine(AgentConfigDefaults.AGENT_CONFIG, new ProcessCommandRunner());
    }

    /**
     * The command tree with the commands' defaults read from {@code agentConfig} when it can be read, and
     * external tools (scontrol) run by {@code commands}.
     */
    static CommandLine commandLine(Path agentConfig, CommandRunner commands) {
        AgentConfigLoader configLoader = new AgentConfigLoader();
        CommandLine commandLine = withoutDefaultsFromTheNode(configLoader, commands);
        commandLine.setDefaultValueProvider(new AgentConfigDefaults(agentConfig, configLoader));
        return commandLine;
    }

    /** The command tree with the built-in defaults only, as the man page and the shell completion describe it. */
    static CommandLine withoutDefaultsFromTheNode(AgentConfigLoader configLoader, CommandRunner commands) {
        CommandLine commandLine = new CommandLine(new LifeboatCommand())
                .addSubcommand("agent", new AgentCommand(configLoader, AgentVersion.current()))
                .addSubcommand("status", new StatusCommand())
                .addSubcommand("migrate", new MigrateCommand())
                .addSubcommand("evacuate", new EvacuateCommand(commands))
                .addSubcommand("predict", new PredictCommand())
                .addSubcommand("history", new HistoryCommand());
        commandLine.setParameterExceptionHandler(JsonOutput.usageErrors(commandLine.getParameterExceptionHandler()));
        return commandLine;
    }

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "Missing required subcommand");
    }
}
