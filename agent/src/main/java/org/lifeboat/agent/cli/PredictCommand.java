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
import java.util.concurrent.Callable;
import org.lifeboat.predictor.http.BearerToken;
import picocli.CommandLine.Command;
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
            "2:invalid command line",
            "4:the agent refused (unknown node, bad value, not authorised)"
        })
final class PredictCommand implements Callable<Integer> {

    static final String PATH = "/api/v1/predictions";
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    @Spec
    private CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NODE", description = "The Slurm node expected to fail.")
    private String node;

    @Option(names = "--within", paramLabel = "DURATION", description = "Time left until the failure, e.g. 90s, 5m, 1h30m.")
    private String within;

    @Option(names = "--confidence", paramLabel = "P", defaultValue = "1.0",
            description = "How sure, from 0 to 1 (default: ${DEFAULT-VALUE}).")
    private double confidence;

    @Option(names = "--reason", paramLabel = "TEXT", description = "Why; shown in the node's drain reason.")
    private String reason;

    @Option(names = "--cancel", description = "Withdraw every prediction for the node instead.")
    private boolean cancel;

    @Option(names = "--url", paramLabel = "URL", defaultValue = "http://127.0.0.1:9464",
            description = "The agent's HTTP address, as in its http.address and http.port (default: ${DEFAULT-VALUE}).")
    private URI url;

    // Root's run finds the token where the agent created it; other users cannot read it, which is the point.
    @Option(names = "--token-file", paramLabel = "PATH", defaultValue = "/etc/lifeboat/prediction-token",
            description = "The file holding the token the agent demands, as in its predictor.token-file (default: ${DEFAULT-VALUE}).")
    private Path tokenFile;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
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
        HttpRequest.Builder request;
        try {
            request = HttpRequest.newBuilder(url.resolve(PATH))
                    .timeout(TIMEOUT)
                    .header("Content-Type", "application/json")
                    .header("Authorization", token.authorizationHeader())
                    .POST(HttpRequest.BodyPublishers.ofString(body()));
        } catch (IOException | IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        HttpResponse<String> response;
        try {
            response = HttpClient.newBuilder().connectTimeout(TIMEOUT).build()
                    .send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            err.println("lifeboat predict: cannot reach the agent at " + url + ": " + e);
            return AgentSocketOptions.EXIT_UNREACHABLE;
        }
        JsonNode reply = readReply(response.body());
        if (response.statusCode() != 200) {
            err.println("lifeboat predict: refused (" + response.statusCode() + "): " + reply.path("error").asText(response.body()));
            return AgentSocketOptions.EXIT_REFUSED;
        }
        out.println(node + ": " + reply.path("decision").asText());
        out.flush();
        return 0;
    }

    private String body() throws IOException {
        ObjectNode body = new ObjectMapper().createObjectNode();
        body.put("node", node);
        body.put("source", "cli");
        if (cancel) {
            body.put("cancel", true);
        } else {
            body.put("within", within);
            body.put("confidence", confidence);
        }
        if (reason != null) {
            body.put("reason", reason);
        }
        return body.toString();
    }

    private static JsonNode readReply(String text) {
        try {
            return new ObjectMapper().readTree(text);
        } catch (IOException e) {
            return new ObjectMapper().createObjectNode();
        }
    }
}
