package org.lifeboat.agent.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.json.AgentJson;

class RegistryStoreTest {

    private static final Instant REGISTERED = Instant.parse("2026-11-22T01:02:03.456Z");

    @TempDir
    Path state;

    @Test
    void nothingSavedYetLoadsAsNoJobs() throws Exception {
        assertEquals(List.of(), new RegistryStore(state).load());
    }

    @Test
    void whatIsSavedLoadsBackEqual() throws Exception {
        List<JobRecord> jobs = List.of(
                job(42, Map.of("batch", new StepRecord("batch", 1, 2, Map.of(0, 4242L, 1, 4243L), REGISTERED))),
                job(4294967295L, Map.of()));

        new RegistryStore(state).save(jobs);

        assertEquals(jobs, new RegistryStore(state).load());
    }

    @Test
    void theFileIsReadableJsonWithTheProtocolsFieldNames() throws Exception {
        new RegistryStore(state).save(List.of(job(42, Map.of("0", new StepRecord("0", 0, 1, Map.of(3, 77L), REGISTERED)))));

        JsonNode saved = AgentJson.mapper().readTree(state.resolve("registry.json").toFile());

        assertEquals(42, saved.at("/0/job").asLong());
        assertEquals("2026-11-22T01:02:03.456Z", saved.at("/0/registered").asText());
        assertEquals(77, saved.at("/0/steps/0/task-pids/3").asLong());
        assertEquals(1, saved.at("/0/steps/0/task-count").asInt());
        assertEquals(0, saved.at("/0/steps/0/restart-count").asInt());
    }

    @Test
    void aSaveReplacesTheWholeFileAndLeavesNoTemporaryFile() throws Exception {
        RegistryStore store = new RegistryStore(state);
        store.save(List.of(job(1, Map.of()), job(2, Map.of())));

        store.save(List.of(job(3, Map.of())));

        assertEquals(List.of(job(3, Map.of())), store.load());
        try (Stream<Path> files = Files.list(state)) {
            assertEquals(List.of(store.file()), files.toList());
        }
    }

    @Test
    void aLeftoverTemporaryFileFromACrashIsOverwritten() throws Exception {
        Files.writeString(state.resolve("registry.json.tmp"), "x".repeat(10_000));
        RegistryStore store = new RegistryStore(state);

        store.save(List.of(job(1, Map.of())));

        assertEquals(List.of(job(1, Map.of())), store.load());
        assertTrue(Files.notExists(state.resolve("registry.json.tmp")));
    }

    @Test
    void aSaveThatCannotWriteIsAnIOExceptionAndKeepsTheOldFile() throws Exception {
        RegistryStore store = new RegistryStore(state);
        store.save(List.of(job(1, Map.of())));
        Files.createDirectory(state.resolve("registry.json.tmp"));

        assertThrows(IOException.class, () -> store.save(List.of(job(2, Map.of()))));

        assertEquals(List.of(job(1, Map.of())), store.load());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "",
        "[{\"job\":42,\"uid\":",
        "{\"job\":42}",
        "null",
        "[null]",
        "[{\"job\":42,\"uid\":1,\"gid\":1,\"registered\":\"2026-11-22T01:02:03Z\"}]",
        "[{\"job\":42,\"uid\":1,\"gid\":1,\"steps\":{},\"registered\":\"2026-11-22T01:02:03Z\",\"owner\":\"x\"}]",
        "[{\"job\":42,\"uid\":1,\"gid\":1,\"steps\":{},\"registered\":\"yesterday\"}]",
    })
    void aFileThatIsNotAValidRegistryIsAnIOExceptionNamingIt(String content) throws Exception {
        Files.writeString(state.resolve("registry.json"), content);
        RegistryStore store = new RegistryStore(state);

        IOException error = assertThrows(IOException.class, store::load);

        assertTrue(error.getMessage().startsWith("cannot read the job registry " + store.file()), error.getMessage());
    }

    private static JobRecord job(long id, Map<String, StepRecord> steps) {
        return new JobRecord(id, 1000, 100, steps, REGISTERED);
    }
}
