package org.lifeboat.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.lifeboat.agent.socket.AgentClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code lifeboat history}: the last migrations this node started, with every phase's time. */
@Command(
        name = "history",
        mixinStandardHelpOptions = true,
        description = "Lists the last migrations this node started, newest first, with every phase's time and CRIU's"
                + " own figures: root sees all, a user those of their own jobs.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:listed",
            "1:the agent could not be reached",
            "2:invalid command line",
            "4:the agent refused"
        })
final class HistoryCommand implements Callable<Integer> {

    static final int MAX_LIMIT = 1000;

    @Spec
    private CommandSpec spec;

    @Mixin
    private AgentSocketOptions agent;

    @Option(names = "--limit", paramLabel = "N", description = "Show the N newest only (1 to " + MAX_LIMIT + ").")
    private Integer limit;

    @Mixin
    private JsonOutput output;

    /** With --json: {@code {"version":1,"migrations":[…]}}, the agent's reports as they are. */
    @Override
    public Integer call() {
        if (limit != null && (limit < 1 || limit > MAX_LIMIT)) {
            throw new ParameterException(spec.commandLine(), "--limit must be from 1 to " + MAX_LIMIT + ", not " + limit);
        }
        PrintWriter out = spec.commandLine().getOut();
        AgentClient client = agent.client();
        ObjectNode request = client.newRequest("history");
        if (limit != null) {
            request.put("limit", limit);
        }
        JsonNode migrations;
        try {
            migrations = agent.send(client, request, spec).path("migrations");
        } catch (CommandFailure failure) {
            return output.fail(spec, failure);
        }
        if (output.enabled()) {
            ObjectNode answer = JsonOutput.answer();
            answer.set("migrations", migrations);
            JsonOutput.print(out, answer);
            return 0;
        }
        if (migrations.isEmpty()) {
            out.println("no migrations from this node yet");
        } else {
            for (JsonNode report : migrations) {
                out.printf("%s, started %s%n", report.path("migration").asText(), report.path("started").asText());
                MigrationReportFormat.print(out, report);
                out.println();
            }
        }
        out.flush();
        return 0;
    }
}
