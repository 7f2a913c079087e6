package org.lifeboat.agent.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.Arrays;
import org.lifeboat.agent.json.AgentJson;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * The {@code --json} option, and how a command answers with it: one JSON object on standard output,
 * {@code "version"} first, then the answer's fields; or, when the command fails, also on standard
 * output and with the same exit code as without --json,
 * {@code {"version":1,"error":{"code":"…","message":"…"}}}. Without --json, answers are text for people
 * and failures one line on standard error.
 */
final class JsonOutput {

    /** The version of these objects; a change that could break a script that reads them raises it. */
    static final int VERSION = 1;
    /** The command line was invalid (exit code 2). */
    static final String USAGE = "usage";
    /** The agent could not be reached (exit code 1). */
    static final String UNREACHABLE = "unreachable";

    private static final ObjectMapper MAPPER = AgentJson.mapper();

    @Option(names = "--json", description = "Print one JSON object: {\"version\":1,...}, and on failure"
            + " {\"version\":1,\"error\":{\"code\":...,\"message\":...}} (exit codes as without --json).")
    private boolean json;

    boolean enabled() {
        return json;
    }

    /** An answer holding only its version, for the command to add its fields to. */
    static ObjectNode answer() {
        return MAPPER.createObjectNode().put("version", VERSION);
    }

    static void print(PrintWriter out, ObjectNode answer) {
        try {
            out.println(MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(answer));
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        out.flush();
    }

    /** Says why the command failed, as the error object or as a line on standard error, and returns its exit code. */
    int fail(CommandSpec spec, CommandFailure failure) {
        if (json) {
            print(spec.commandLine().getOut(), error(failure.code(), failure.getMessage()));
        } else {
            spec.commandLine().getErr().println(failure.forPeople());
            spec.commandLine().getErr().flush();
        }
        return failure.exitCode();
    }

    /**
     * Handles an invalid command line: as the error object when the command takes --json and was given it
     * (picocli may have stopped before reading it), else as picocli does, with the usage help.
     */
    static CommandLine.IParameterExceptionHandler usageErrors(CommandLine.IParameterExceptionHandler otherwise) {
        return (exception, arguments) -> {
            CommandLine command = exception.getCommandLine();
            boolean jsonAsked = command.getCommandSpec().findOption("--json") != null
                    && Arrays.stream(arguments).anyMatch(JsonOutput::isJsonOption);
            if (!jsonAsked) {
                return otherwise.handleParseException(exception, arguments);
            }
            print(command.getOut(), error(USAGE, exception.getMessage()));
            return command.getCommandSpec().exitCodeOnInvalidInput();
        };
    }

    private static boolean isJsonOption(String argument) {
        return argument.equals("--json") || argument.startsWith("--json=");
    }

    private static ObjectNode error(String code, String message) {
        ObjectNode answer = answer();
        answer.putObject("error").put("code", code).put("message", message);
        return answer;
    }
}
