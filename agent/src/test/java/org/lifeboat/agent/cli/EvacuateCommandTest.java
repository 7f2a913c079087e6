package org.lifeboat.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.process.CommandResult;

/** {@code lifeboat evacuate} with a Slurm that answers as told. */
class EvacuateCommandTest {

    @TempDir
    Path directory;

    private final List<List<String>> commands = new ArrayList<>();
    private int scontrolExitCode;
    private final TestCommandLine lifeboat = new TestCommandLine(Path.of("/nonexistent/agent.yaml"), (command, timeout) -> {
        commands.add(command);
        return new CommandResult(command, scontrolExitCode, "", scontrolExitCode == 0 ? "" : "Invalid node name specified");
    });

    @Test
    void drainsTheNodeWithTheReasonAndSaysWhatFollows() {
        assertEquals(0, lifeboat.run("evacuate", "node2", "--reason", "fan"), lifeboat::err);

        assertEquals(List.of(List.of("scontrol", "update", "nodename=node2", "state=drain", "reason=fan")), commands);
        assertTrue(lifeboat.out().startsWith("node2 is draining (fan): "), lifeboat::out);
    }

    @Test
    void jsonIsTheNodeItsStateAndTheReasonWithItsVersion() throws Exception {
        assertEquals(0, lifeboat.run("evacuate", "node2", "--json"), lifeboat::err);

        assertEquals("{\"version\":1,\"node\":\"node2\",\"state\":\"draining\",\"reason\":\"lifeboat evacuate\"}",
                new ObjectMapper().readTree(lifeboat.out()).toString());
    }

    @Test
    void aSlurmThatRefusesExits1AndWithJsonIsTheErrorObject() throws Exception {
        scontrolExitCode = 1;

        assertEquals(1, lifeboat.run("evacuate", "node2", "--json"));

        JsonNode error = new ObjectMapper().readTree(lifeboat.out()).path("error");
        assertEquals("slurm-failed", error.path("code").asText());
        assertTrue(error.path("message").asText().contains("Invalid node name specified"), lifeboat::out);
    }
}
