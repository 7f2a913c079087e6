package org.lifeboat.agent.migration;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The source's {@code restore}: the migration, and the SHA-256 of the image tar it sent (diskless;
 * null for shared-fs, whose images the target reads in place). Sealed with the request, so the target
 * unpacks the tar it spooled only if it is byte for byte what the source sent.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RestoreRequest(
        @JsonProperty(value = "migration", required = true) String migration,
        @JsonProperty(value = "job", required = true) long job,
        @JsonProperty("images-sha256") String imagesSha256) {

    public RestoreRequest {
        new MigrationRequest(migration, job);
        if (imagesSha256 != null && !imagesSha256.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("images-sha256 must be 64 hex digits");
        }
    }
}
