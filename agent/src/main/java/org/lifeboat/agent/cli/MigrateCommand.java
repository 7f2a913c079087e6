package org.lifeboat.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.lifeboat.agent.migration.Outcome;
import org.lifeboat.agent.migration.TransferMode;
import org.lifeboat.agent.socket.AgentClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code lifeboat migrate JOBID [--to NODE]}: moves a running job to another node now, the one
 * named or the one Slurm chooses; the job keeps its id and is requeued there.
 */
@Command(
        name = "migrate",
        mixinStandardHelpOptions = true,
        description = "Live-migrates a job's container from this node to another and waits until it has moved or rolled back.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:migrated",
            "1:the agent could not be reached",
            "2:invalid command line",
            "4:the agent refused (not your job, unknown job, no container, not requeueable, no node free, CRIU unusable)",
            "5:the migration failed and was rolled back: the job runs on where it was",
            "6:post-copy: the job's memory stopped crossing while it ran on the target, which killed it: the job is lost"
        })
final class MigrateCommand implements Callable<Integer> {

    static final int EXIT_ROLLED_BACK = 5;
    static final int EXIT_LOST = 6;

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "JOBID", converter = OptionValues.JobId.class, description = "The job to move.")
    private long job;

    @Option(names = "--to", paramLabel = "NODE",
            description = "The node to move it to (default: the node Slurm would start the job on now, given its partition, CPUs, memory and constraints).")
    private String target;

    @Option(names = "--mode", paramLabel = "MODE", converter = OptionValues.Mode.class,
            completionCandidates = OptionValues.Modes.class,
            description = "${COMPLETION-CANDIDATES} (default: the agent's transfer-mode).")
    private TransferMode mode;

    @Mixin
    private AgentSocketOptions agent;

    @Mixin
    private JsonOutput output;

    /** With --json: the migration report's fields after {@code "version":1}. */
    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        AgentClient client = agent.client();
        ObjectNode request = client.newRequest("migrate");
        request.put("job", job);
        if (target != null) {
            request.put("to", target);
        }
        if (mode != null) {
            request.put("mode", mode.wireName());
        }
        JsonNode report;
        try {
            report = agent.send(client, request, spec).path("migration");
        } catch (CommandFailure failure) {
            return output.fail(spec, failure);
        }
        if (output.enabled()) {
            ObjectNode answer = JsonOutput.answer();
            if (report instanceof ObjectNode fields) {
                answer.setAll(fields);
            }
            JsonOutput.print(out, answer);
        } else {
            MigrationReportFormat.print(out, report);
            out.flush();
        }
        String outcome = report.path("outcome").asText();
        if (outcome.equals(Outcome.ROLLED_BACK.wireName())) {
            return EXIT_ROLLED_BACK;
        }
        return outcome.equals(Outcome.LOST.wireName()) ? EXIT_LOST : 0;
    }
}
