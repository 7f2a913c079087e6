package org.lifeboat.agent.registry;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Objects;
import org.lifeboat.agent.json.AgentJson;

/**
 * Keeps the registry in one JSON file that is replaced atomically: written to a temporary file in the
 * same directory, forced to disk, renamed over the old one, and the directory forced too. A crash at
 * any point leaves either the old or the new registry, never a torn one.
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
        Path temporary = file.resolveSibling(FILE_NAME + ".tmp");
        try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            channel.write(ByteBuffer.wrap(json.writeValueAsBytes(jobs)));
            channel.force(true);
        }
        try {
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("the state directory " + file.getParent() + " cannot replace files atomically", e);
        }
        // The rename is durable only once the directory entry is on disk.
        try (FileChannel directory = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
            directory.force(true);
        }
    }
}
