package org.lifeboat.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.lifeboat.agent.socket.AgentClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lifeboat status}: the migratable jobs on this node that the caller may see. */
@Command(
        name = "status",
        mixinStandardHelpOptions = true,
        description = "Lists the migratable jobs on this node: root sees all, a user their own.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:listed",
            "1:the agent could not be reached",
            "2:invalid command line",
            "4:the agent refused (e.g. not your job, unknown job)"
        })
final class StatusCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Mixin
    private AgentSocketOptions agent;

    @Option(names = "--job", paramLabel = "JOBID", converter = OptionValues.JobId.class, description = "Show this job only.")
    private Long job;

    @Mixin
    private JsonOutput output;

    /** With --json: {@code {"version":1,"jobs":[…]}}, the one job alone with --job. */
    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        AgentClient client = agent.client();
        ObjectNode request = client.newRequest(job == null ? "status" : "job");
        if (job != null) {
            request.put("job", job);
        }
        JsonNode reply;
        try {
            reply = agent.send(client, request, spec);
        } catch (CommandFailure failure) {
            return output.fail(spec, failure);
        }
        List<JsonNode> jobs = new ArrayList<>();
        if (job == null) {
            reply.path("jobs").forEach(jobs::add);
        } else {
            jobs.add(reply.path("job"));
        }
        if (output.enabled()) {
            ObjectNode answer = JsonOutput.answer();
            answer.putArray("jobs").addAll(jobs);
            JsonOutput.print(out, answer);
        } else {
            printTable(out, jobs);
            out.flush();
        }
        return 0;
    }

    private static void printTable(PrintWriter out, List<JsonNode> jobs) {
        String format = "%-10s %-7s %-12s %-6s %-9s %-24s %-10s %s%n";
        out.printf(format, "JOB", "UID", "STEP", "TASKS", "RESTARTS", "REGISTERED", "CONTAINER", "PIDS");
        for (JsonNode job : jobs) {
            // The container's init pid once known: its root process on this node.
            String container = job.path("container").isObject() ? job.path("container").path("init-pid").asText() : "-";
            if (job.path("steps").isEmpty()) {
                out.printf(format, job.path("job").asText(), job.path("uid").asText(), "-", "-", "-",
                        job.path("registered").asText(), container, "-");
            }
            for (JsonNode step : job.path("steps")) {
                List<String> pids = new ArrayList<>();
                step.path("task-pids").forEach(pid -> pids.add(pid.asText()));
                out.printf(format, job.path("job").asText(), job.path("uid").asText(), step.path("step").asText(),
                        step.path("task-count").asText(), step.path("restart-count").asText(),
                        job.path("registered").asText(), container, pids.isEmpty() ? "-" : String.join(",", pids));
            }
        }
        // Asked of one job (--job): whether a drain or `lifeboat migrate` could move it whole, and why not.
        for (JsonNode job : jobs) {
            if (job.has("movable")) {
                out.println("job " + job.path("job").asText() + (job.path("movable").asBoolean() ? ": movable"
                        : ": not movable: " + job.path("unmovable-reason").asText()));
            }
        }
    }
}
