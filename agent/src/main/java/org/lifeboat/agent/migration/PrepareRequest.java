package org.lifeboat.agent.migration;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Objects;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.network.JobNetwork;

/**
 * The source's {@code prepare}: what the target needs to make room for a job's images and restore
 * it. Both ends read and write it through this record; {@link PeerMessages} refuses unknown fields
 * and this constructor missing ones, so a field the source forgot never reads as uid 0 or job 0.
 *
 * @param pageServer whether the memory comes through the target's page server (else in the images)
 * @param network the job's own address, moved with it; null when it has none
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PrepareRequest(
        @JsonProperty(value = "migration", required = true) String migration,
        @JsonProperty(value = "job", required = true) long job,
        @JsonProperty(value = "uid", required = true) int uid,
        @JsonProperty(value = "gid", required = true) int gid,
        @JsonProperty(value = "mode", required = true) TransferMode mode,
        @JsonProperty(value = "expected-bytes", required = true) long expectedBytes,
        @JsonProperty(value = "manifest", required = true) ContainerManifest manifest,
        @JsonProperty(value = "page-server", required = true) boolean pageServer,
        @JsonProperty("network") JobNetwork network) {

    public PrepareRequest {
        MigrationRequest.checkId(migration);
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(manifest, "manifest");
        if (job <= 0 || expectedBytes < 0) {
            throw new IllegalArgumentException("job must be positive and expected-bytes not negative");
        }
    }
}
