package org.lifeboat.agent.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.ProcessCommandRunner;
import org.lifeboat.agent.slurm.SlurmClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code lifeboat evacuate NODE}: drains the node in Slurm, which is what makes its agent move its
 * migratable jobs off. Going through Slurm rather than the node's agent means it works from any
 * host with Slurm admin rights, nothing new lands on the node, and Slurm itself records who drained
 * the node and why ({@code sinfo -R}).
 */
@Command(
        name = "evacuate",
        mixinStandardHelpOptions = true,
        description = "Drains a node in Slurm so that its Lifeboat agent moves every migratable job off it.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:the node is draining", "1:Slurm refused or could not be reached", "2:invalid command line"})
final class EvacuateCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NODE", description = "The node to empty.")
    private String node;

    @Option(names = "--reason", paramLabel = "TEXT", defaultValue = "lifeboat evacuate",
            description = "The drain reason Slurm shows (default: ${DEFAULT-VALUE}).")
    private String reason;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        try {
            new SlurmClient(new ProcessCommandRunner()).drain(node, reason);
        } catch (CommandException e) {
            err.println("lifeboat evacuate: " + e.getMessage());
            return 1;
        }
        out.println(node + " is draining (" + reason + "): its agent moves its migratable jobs to nodes Slurm chooses;"
                + " `squeue -w " + node + "` shows what is left. `scontrol update nodename=" + node
                + " state=resume` returns it to service.");
        return 0;
    }
}
