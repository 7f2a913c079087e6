package org.lifeboat.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.predictor.Evacuation;
import org.lifeboat.predictor.Evacuator;
import org.lifeboat.predictor.NodeDrainer;
import org.lifeboat.predictor.Prediction;
import org.lifeboat.predictor.PredictionBook;
import org.lifeboat.predictor.PredictionSource;
import org.lifeboat.predictor.config.PredictorConfig;
import org.lifeboat.predictor.http.AcceptedNodes;
import org.lifeboat.predictor.http.BearerToken;
import org.lifeboat.predictor.http.PredictionHandlers;
import picocli.CommandLine;

/** {@code lifeboat predict} against the adapter's real prediction endpoint on a local HTTP server. */
class PredictCommandTest {

    @TempDir
    Path directory;

    private final StringWriter standardOutput = new StringWriter();
    private final StringWriter standardError = new StringWriter();
    private final List<String> actions = new ArrayList<>();
    private PredictionBook book;
    private HttpServer server;

    /** The agent's endpoint, its token created as the agent creates it, accepting predictions for every node. */
    private String startAgentEndpoint() throws Exception {
        NodeDrainer drainer = new NodeDrainer() {
            @Override
            public void drain(String node, String reason) {
                actions.add("drain " + node);
            }

            @Override
            public void undrain(String node) {
                actions.add("undrain " + node);
            }

            @Override
            public boolean drainedByOthers(String node) {
                return false;
            }

            @Override
            public boolean inService(String node) {
                return false;
            }
        };
        Evacuator evacuator = new Evacuator() {
            @Override
            public void evacuate(Evacuation evacuation) {
                actions.add("evacuate " + evacuation.node());
            }

            @Override
            public void deadlineAdvanced(String node, Instant deadline) {
                actions.add("advance " + node);
            }

            @Override
            public Cancellation cancel(String node) {
                actions.add("cancel " + node);
                return Cancellation.BEFORE_ANY_MIGRATION;
            }
        };
        book = new PredictionBook(0.8, Duration.ZERO, drainer, evacuator, (source, outcome) -> { }, Runnable::run, Clock.systemUTC());
        PredictionHandlers handlers = new PredictionHandlers(PredictorConfig.defaults(), BearerToken.readOrCreate(tokenFile()),
                AcceptedNodes.from(Optional.of(List.of(PredictorConfig.EVERY_NODE)), "node1"), node -> node.equals("node2"), book, (source, outcome) -> { }, Clock.systemUTC());
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext(PredictCommand.PATH, handlers.predictions());
        server.start();
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stopServer() {
        if (server != null) {
            server.stop(0);
        }
    }

    private Path tokenFile() {
        return directory.resolve("prediction-token");
    }

    /** Runs {@code lifeboat predict} as root would, the token file read where the agent keeps it. */
    private int predict(String url, String... arguments) {
        List<String> command = new ArrayList<>(List.of("predict"));
        command.addAll(List.of(arguments));
        command.addAll(List.of("--url", url, "--token-file", tokenFile().toString()));
        return run(command.toArray(String[]::new));
    }

    private int run(String... arguments) {
        // The node's agent.yaml, absent here: the options keep their built-in defaults.
        CommandLine commandLine = LifeboatCommand.commandLine(directory.resolve("agent.yaml"), TestCommandLine.NO_TOOLS);
        commandLine.setOut(new PrintWriter(standardOutput, true));
        commandLine.setErr(new PrintWriter(standardError, true));
        return commandLine.execute(arguments);
    }

    @Test
    void aPredictionReachesTheAgentAsTheCliSourceAndItsDecisionIsPrinted() throws Exception {
        String url = startAgentEndpoint();

        int exitCode = predict(url, "node2", "--within", "5m", "--confidence", "0.9", "--reason", "fan failing");

        assertEquals(0, exitCode, standardError.toString());
        assertEquals("node2: evacuation-started" + System.lineSeparator(), standardOutput.toString());
        Prediction prediction = book.snapshot().evacuating().get(0).predictions().get(0);
        assertEquals(PredictionSource.CLI, prediction.source());
        assertEquals("fan failing", prediction.reason());
        assertEquals(0.9, prediction.confidence());
        assertEquals(List.of("drain node2", "evacuate node2"), actions);
    }

    @Test
    void cancelWithdrawsTheNodesPredictions() throws Exception {
        String url = startAgentEndpoint();
        predict(url, "node2", "--within", "5m");

        assertEquals(0, predict(url, "node2", "--cancel"), standardError.toString());
        assertTrue(standardOutput.toString().endsWith("node2: cancelling" + System.lineSeparator()), standardOutput.toString());
        assertEquals(List.of("drain node2", "evacuate node2", "cancel node2", "undrain node2"), actions);
    }

    @Test
    void aRefusalExitsWith4AndQuotesTheAgent() throws Exception {
        String url = startAgentEndpoint();

        assertEquals(4, predict(url, "node7", "--within", "5m"));
        assertEquals("lifeboat predict: refused (422): unknown node 'node7' (field node): Slurm has no such node"
                + System.lineSeparator(), standardError.toString());
        assertEquals(List.of(), actions);
    }

    @Test
    void withoutTheAgentsTokenThePredictionIsRefused() throws Exception {
        String url = startAgentEndpoint();
        Path wrongToken = Files.writeString(directory.resolve("wrong-token"), "guess\n");

        assertEquals(4, run("predict", "node2", "--within", "5m", "--url", url, "--token-file", wrongToken.toString()));
        assertTrue(standardError.toString().startsWith("lifeboat predict: refused (401)"), standardError.toString());
        assertEquals(List.of(), actions);
    }

    @Test
    void theTokenIsReadFromEtcLifeboatPredictionTokenByDefault() {
        CommandLine predict = LifeboatCommand.commandLine().getSubcommands().get("predict");

        assertEquals("/etc/lifeboat/prediction-token", predict.getCommandSpec().findOption("--token-file").defaultValue());
    }

    @Test
    void aMissingTokenFileIsAUsageErrorNamingIt() {
        assertEquals(2, run("predict", "node2", "--within", "5m", "--token-file", directory.resolve("absent").toString()));
        assertTrue(standardError.toString().contains("cannot read the token file: java.nio.file.NoSuchFileException: "
                + directory.resolve("absent")), standardError.toString());
    }

    @Test
    void anUnreachableAgentExitsWith1() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }

        Files.writeString(tokenFile(), "t0k3n\n");
        assertEquals(1, predict("http://127.0.0.1:" + port, "node2", "--within", "5m"));
        assertTrue(standardError.toString().startsWith("lifeboat predict: cannot reach the agent"), standardError.toString());
    }

    @Test
    void eitherWithinOrCancelIsAUsageError() {
        assertEquals(2, run("predict", "node2"));
        assertEquals(2, run("predict", "node2", "--within", "5m", "--cancel"));
        assertTrue(standardError.toString().contains("give either --within DURATION or --cancel"), standardError.toString());
    }

    @Test
    void aBadLeadTimeIsAUsageErrorAndNothingIsSent() throws Exception {
        Files.writeString(tokenFile(), "t0k3n\n");

        assertEquals(2, predict("http://127.0.0.1:1", "node2", "--within", "5 minutes"));
        assertTrue(standardError.toString().startsWith("Invalid value for option '--within': '5 minutes' is not a duration like"
                + " 90s, 5m or 1h30m"), standardError.toString());
    }

    @Test
    void aConfidenceOutsideZeroToOneIsAUsageError() throws Exception {
        Files.writeString(tokenFile(), "t0k3n\n");

        assertEquals(2, predict("http://127.0.0.1:1", "node2", "--within", "5m", "--confidence", "90"));
        assertTrue(standardError.toString().startsWith("Invalid value for option '--confidence': '90' is not a number from 0 to 1"),
                standardError.toString());
    }

    @Test
    void aUrlWithoutSchemeIsAUsageError() throws Exception {
        Files.writeString(tokenFile(), "t0k3n\n");

        assertEquals(2, predict("127.0.0.1:9464", "node2", "--within", "5m"));
        assertEquals(2, predict("localhost:9464", "node2", "--within", "5m"));
        assertTrue(standardError.toString().contains("'127.0.0.1:9464' is not an http:// or https:// URL with a host"),
                standardError.toString());
        assertTrue(standardError.toString().contains("'localhost:9464' is not an http:// or https:// URL with a host"),
                standardError.toString());
    }

    @Test
    void jsonIsTheNodeAndTheAgentsDecisionWithItsVersion() throws Exception {
        String url = startAgentEndpoint();

        assertEquals(0, predict(url, "node2", "--within", "5m", "--json"), standardError.toString());

        assertEquals("{\"version\":1,\"node\":\"node2\",\"decision\":\"evacuation-started\"}",
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(standardOutput.toString()).toString());
    }

    @Test
    void aRefusalWithJsonIsTheErrorObjectWithExitCode4() throws Exception {
        String url = startAgentEndpoint();

        assertEquals(4, predict(url, "node7", "--within", "5m", "--json"));

        assertEquals("{\"version\":1,\"error\":{\"code\":\"invalid\",\"message\":\"unknown node 'node7' (field node):"
                + " Slurm has no such node\"}}",
                new com.fasterxml.jackson.databind.ObjectMapper().readTree(standardOutput.toString()).toString());
        assertEquals("", standardError.toString());
    }

    @Test
    void theUrlAndTheTokenFileAreTheAgentsOwnFromItsConfiguration() throws Exception {
        String url = startAgentEndpoint();
        int port = java.net.URI.create(url).getPort();
        Files.writeString(directory.resolve("agent.yaml"), "http:\n  address: 0.0.0.0\n  port: " + port
                + "\npredictor:\n  token-file: " + tokenFile() + "\n");

        assertEquals(0, run("predict", "node2", "--within", "5m"), standardError.toString());
        assertEquals(List.of("drain node2", "evacuate node2"), actions);
    }
}
