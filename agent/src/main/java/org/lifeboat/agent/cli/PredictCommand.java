package org.lifeboat.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import org.lifeboat.predictor.Durations;
import org.lifeboat.predictor.http.BearerToken;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code lifeboat predict NODE --within 5m}: an operator's failure prediction, posted to the agent's
 * prediction endpoint like any other predictor's; the agent decides (drain, evacuate, or record only).
 */
@Command(
        name = "predict",
        mixinStandardHelpOptions = true,
        description = "Tells the agent a node will fail: above the confidence threshold it is drained and its migratable jobs"
                + " are moved off before the deadline. --cancel withdraws every prediction for the node.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:accepted (the agent's decision is printed)",
            "1:the agent could not be reached",
            "2:invalid command line (also a bad --within, --confidence or --url, or a token file that cannot be read)",
            "4:the agent refused (unknown node, bad value, not authorised)"
        })
final class PredictCommand implements Callable<Integer> {

    static final String PATH = "/api/v1/predictions";
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    // The intake answers with an HTTP status; scripts get the code the agent socket would use for the same refusal.
    private static final Map<Integer, String> REFUSAL_CODES = Map.of(400, "malformed", 401, "unauthorized",
            403, "not-permitted", 413, "too-large", 422, "invalid", 503, "unavailable");

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NODE", description = "The Slurm node expected to fail.")
    private String node;

    @Option(names = "--within", paramLabel = "DURATION", converter = OptionValues.Lead.class,
            description = "Time left until the failure, e.g. 90s, 5m, 1h30m.")
    private Duration within;

    @Option(names = "--confidence", paramLabel = "P", defaultValue = "1.0", converter = OptionValues.Confidence.class,
            description = "How sure, from 0 to 1 (default: ${DEFAULT-VALUE}).")
    private double confidence;

    @Option(names = "--reason", paramLabel = "TEXT", description = "Why; shown in the node's drain reason.")
    private String reason;

    @Option(names = "--cancel", description = "Withdraw every prediction for the node instead.")
    private boolean cancel;

    // The defaults are the agent's own; AgentConfigDefaults puts those of the node's agent.yaml before them.
    @Option(names = "--url", paramLabel = "URL", defaultValue = "http://127.0.0.1:9464", converter = OptionValues.HttpUrl.class,
            description = "The agent's HTTP address (default: from http.address and http.port in /etc/lifeboat/agent.yaml"
                    + " if readable, else http://127.0.0.1:9464).")
    private URI url;

    // Root's run finds the token where the agent created it; other users cannot read it, which is the point.
    @Option(names = "--token-file", paramLabel = "PATH", defaultValue = "/etc/lifeboat/prediction-token",
            description = "The file holding the token the agent demands (default: predictor.token-file in"
                    + " /etc/lifeboat/agent.yaml if readable, else /etc/lifeboat/prediction-token).")
    private Path tokenFile;

    @Mixin
    private JsonOutput output;

    /** With --json: {@code {"version":1,"node":…,"decision":…}}. */
    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        if (cancel == (within != null)) {
            throw new ParameterException(spec.commandLine(), "give either --within DURATION or --cancel");
        }
        BearerToken token;
        try {
            token = BearerToken.readFrom(tokenFile);
        } catch (AccessDeniedException e) {
            throw new ParameterException(spec.commandLine(), "cannot read the token file " + tokenFile
                    + ": only root may post predictions");
        } catch (IOException e) {
            throw new ParameterException(spec.commandLine(), "cannot read the token file: " + e);
        }
        HttpRequest request = HttpRequest.newBuilder(url.resolve(PATH))
                .timeout(TIMEOUT)
                .header("Content-Type", "application/json")
                .header("Authorization", token.authorizationHeader())
                .POST(HttpRequest.BodyPublishers.ofString(body().toString()))
                .build();
        JsonNode reply;
        try {
            reply = send(request);
        } catch (CommandFailure failure) {
            return output.fail(spec, failure);
        }
        if (output.enabled()) {
            JsonOutput.print(out, JsonOutput.answer().put("node", node).put("decision", reply.path("decision").asText()));
        } else {
            out.println(node + ": " + reply.path("decision").asText());
            out.flush();
        }
        return 0;
    }

    private JsonNode send(HttpRequest request) throws InterruptedException, CommandFailure {
        HttpResponse<String> response;
        try {
            response = HttpClient.newBuilder().connectTimeout(TIMEOUT).build().send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            String message = "cannot reach the agent at " + url + ": " + e;
            throw new CommandFailure(AgentSocketOptions.EXIT_UNREACHABLE, JsonOutput.UNREACHABLE, message,
                    spec.qualifiedName() + ": " + message);
        }
        JsonNode reply = readReply(response.body());
        if (response.statusCode() != 200) {
            String message = reply.path("error").asText(response.body());
            throw new CommandFailure(AgentSocketOptions.EXIT_REFUSED, REFUSAL_CODES.getOrDefault(response.statusCode(), "refused"),
                    message, spec.qualifiedName() + ": refused (" + response.statusCode() + "): " + message);
        }
        return reply;
    }

    private ObjectNode body() {
        ObjectNode body = new ObjectMapper().createObjectNode();
        body.put("node", node);
        body.put("source", "cli");
        if (cancel) {
            body.put("cancel", true);
        } else {
            body.put("within", Durations.format(within));
            body.put("confidence", confidence);
        }
        if (reason != null) {
            body.put("reason", reason);
        }
        return body;
    }

    private static JsonNode readReply(String text) {
        try {
            return new ObjectMapper().readTree(text);
        } catch (IOException e) {
            return new ObjectMapper().createObjectNode();
        }
    }
}
