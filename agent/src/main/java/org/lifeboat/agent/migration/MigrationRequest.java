package org.lifeboat.agent.migration;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Every request of the source after {@code prepare} (images, pages, restore, confirm, resume,
 * commit, abort): which migration of which job it is about.
 */
public record MigrationRequest(
        @JsonProperty(value = "migration", required = true) String migration,
        @JsonProperty(value = "job", required = true) long job) {

    public MigrationRequest {
        checkId(migration);
        if (job <= 0) {
            throw new IllegalArgumentException("job must be positive, not " + job);
        }
    }

    /** Ids become directory names on both nodes: a safe alphabet, bounded. */
    static void checkId(String migration) {
        if (migration == null || !migration.matches("[A-Za-z0-9-]{1,64}")) {
            throw new IllegalArgumentException("bad migration id '" + migration + "'");
        }
    }
}
