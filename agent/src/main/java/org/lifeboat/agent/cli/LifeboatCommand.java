package org.lifeboat.agent.cli;

import java.util.concurrent.Callable;
import org.lifeboat.agent.AgentVersion;
import org.lifeboat.agent.config.AgentConfigLoader;
import org.lifeboat.agent.logging.AgentLogging;
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
        description = "Fault-tolerance agent for Slurm clusters: live-migrates jobs off failing nodes with CRIU.")
public final class LifeboatCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    public static void main(String[] arguments) {
        AgentLogging.install();
        System.exit(commandLine().execute(arguments));
    }

    /** The full command tree with its real dependencies; main and tests run the same one. */
    public static CommandLine commandLine() {
        return new CommandLine(new LifeboatCommand())
                .addSubcommand("agent", new AgentCommand(new AgentConfigLoader(), AgentVersion.current()))
                .addSubcommand("status", new StatusCommand())
                .addSubcommand("migrate", new MigrateCommand())
                .addSubcommand("evacuate", new EvacuateCommand())
                .addSubcommand("predict", new PredictCommand())
                .addSubcommand("history", new HistoryCommand());
    }

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "Missing required subcommand");
    }
}
