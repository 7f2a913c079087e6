package org.lifeboat.agent.migration;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.network.JobNetwork;
import org.lifeboat.agent.storage.AtomicFiles;

/**
 * The stopped copies this node has vouched for, kept on disk ({@code confirmed/ID.json}) until the
 * source's resume: after the confirmation the source may requeue the job, and the copy here may be
 * its only one, so a restarted agent must find it.
 */
public final class ConfirmedCopies {

    private final Path directory;
    private final ResumeMarkers resumeMarkers;
    private final ObjectMapper json = AgentJson.mapper();

    public ConfirmedCopies(Path checkpointDirectory, ResumeMarkers resumeMarkers) {
        this.directory = Objects.requireNonNull(checkpointDirectory, "checkpointDirectory").resolve(IncomingMigrations.CONFIRMED);
        this.resumeMarkers = Objects.requireNonNull(resumeMarkers, "resumeMarkers");
    }

    /**
     * Makes the stopped copy outlive this agent: a requeued job started here waits for it (the
     * "restoring" resume marker), and an agent restarted finds it (the record).
     */
    void keep(IncomingMigration migration, int restartsBefore) throws IOException {
        resumeMarkers.writeRestoring(migration.jobId, migration.uid);
        Files.createDirectories(directory);
        AtomicFiles.write(record(migration.id), json.writeValueAsBytes(new ConfirmedMigration(migration.id, migration.jobId,
                migration.uid, migration.gid, migration.restoredPid, resumeMarkers.startTime(migration.restoredPid),
                restartsBefore, migration.manifest, migration.network)));
    }

    /** The copy is running, or gone: nothing is left to recover. */
    void forget(String migrationId) throws IOException {
        Files.deleteIfExists(record(migrationId));
    }

    /** The records left by an agent that stopped, by file. */
    List<Path> records() throws IOException {
        if (!Files.isDirectory(directory)) {
            return List.of();
        }
        try (Stream<Path> records = Files.list(directory)) {
            return records.toList();
        }
    }

    ConfirmedMigration read(Path record) throws IOException {
        return json.readValue(record.toFile(), ConfirmedMigration.class);
    }

    private Path record(String migrationId) {
        return directory.resolve(migrationId + ".json");
    }

    /** What this agent keeps of a migration it confirmed, until the source's resume (or its recovery) is done. */
    record ConfirmedMigration(
            @JsonProperty("migration") String migration,
            @JsonProperty("job") long job,
            @JsonProperty("uid") int uid,
            @JsonProperty("gid") int gid,
            @JsonProperty("pid") long pid,
            @JsonProperty("start-time") long startTime,
            @JsonProperty("restarts-before") int restartsBefore,
            @JsonProperty("manifest") ContainerManifest manifest,
            @JsonProperty("network") JobNetwork network) {}
}
