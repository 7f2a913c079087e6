package org.lifeboat.agent.registry;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.storage.AtomicFiles;

/**
 * Keeps the registry in one JSON file that is replaced atomically (see {@link AtomicFiles}): a crash
 * at any point leaves either the old or the new registry, never a torn one.
 */
public final class RegistryStore {

    static final String FILE_NAME = "registry.json";
    private static final TypeReference<List<JobRecord>> JOB_LIST = new TypeReference<>() {};

    private final Path file;
    private final ObjectMapper json = AgentJson.mapper().enable(SerializationFeature.INDENT_OUTPUT);

    public RegistryStore(Path stateDirectory) {
        this.file = Objects.requireNonNull(stateDirectory, "stateDirectory").resolve(FILE_NAME);
    }

    public Path file() {
        return file;
    }

    /** The saved jobs; none if nothing was saved yet. A file that cannot be read is an error, not "empty". */
    public List<JobRecord> load() throws IOException {
        if (!Files.exists(file)) {
            return List.of();
        }
        List<JobRecord> jobs;
        try {
            jobs = json.readValue(file.toFile(), JOB_LIST);
        } catch (IOException e) {
            throw new IOException("cannot read the job registry " + file + ": " + e.getMessage(), e);
        }
        if (jobs == null || jobs.contains(null)) {
            throw new IOException("cannot read the job registry " + file + ": it is not a list of jobs");
        }
        return jobs;
    }

    public void save(List<JobRecord> jobs) throws IOException {
        AtomicFiles.write(file, json.writeValueAsBytes(jobs));
    }
}
