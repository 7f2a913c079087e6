package org.lifeboat.agent.cli;

import java.io.PrintWriter;
import java.util.Objects;
import java.util.concurrent.Callable;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.CommandRunner;
import org.lifeboat.agent.slurm.SlurmClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
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

    static final int EXIT_SLURM_FAILED = 1;
    /** The error code of --json when scontrol failed. */
    static final String SLURM_FAILED = "slurm-failed";

    private final CommandRunner commands;

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NODE", description = "The node to empty.")
    private String node;

    @Option(names = "--reason", paramLabel = "TEXT", defaultValue = "lifeboat evacuate",
            description = "The drain reason Slurm shows (default: ${DEFAULT-VALUE}).")
    private String reason;

    @Mixin
    private JsonOutput output;

    /** @param commands runs scontrol */
    EvacuateCommand(CommandRunner commands) {
        this.commands = Objects.requireNonNull(commands, "commands");
    }

    /** With --json: {@code {"version":1,"node":…,"state":"draining","reason":…}}. */
    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try {
            new SlurmClient(commands).drain(node, reason);
        } catch (CommandException e) {
            return output.fail(spec, new CommandFailure(EXIT_SLURM_FAILED, SLURM_FAILED, e.getMessage(),
                    spec.qualifiedName() + ": " + e.getMessage()));
        }
        if (output.enabled()) {
            JsonOutput.print(out, JsonOutput.answer().put("node", node).put("state", "draining").put("reason", reason));
            return 0;
        }
        out.println(node + " is draining (" + reason + "): its agent moves its migratable jobs to nodes Slurm chooses;"
                + " `squeue -w " + node + "` shows what is left. `scontrol update nodename=" + node
                + " state=resume` returns it to service.");
        out.flush();
        return 0;
    }
}
