package org.lifeboat.agent.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The {@code apptainer:} section: how the agent finds and migrates jobs' Apptainer instances.
 * The helpers are the two small programs the RPM installs beside the agent (launcher/README.md).
 */
public final class ApptainerConfig {

    // Found on PATH, where sites put Apptainer (its RPM installs /usr/bin/apptainer).
    private static final String DEFAULT_PATH = "apptainer";
    private static final String DEFAULT_HELPER_DIRECTORY = "/usr/libexec/lifeboat";

    private final String path;
    private final Path helperDirectory;

    /** Null arguments take the defaults, so a missing key in the file and a missing argument mean the same. */
    @JsonCreator
    public ApptainerConfig(@JsonProperty("path") String path, @JsonProperty("helper-directory") String helperDirectory) {
        if (path != null && path.isBlank()) {
            throw new InvalidConfigValueException("apptainer.path", "must not be empty");
        }
        this.path = path == null ? DEFAULT_PATH : path;
        Path helpers = Path.of(helperDirectory == null ? DEFAULT_HELPER_DIRECTORY : helperDirectory);
        if (!helpers.isAbsolute()) {
            throw new InvalidConfigValueException("apptainer.helper-directory", "must be an absolute path, got '" + helperDirectory + "'");
        }
        this.helperDirectory = helpers;
    }

    public static ApptainerConfig defaults() {
        return new ApptainerConfig(null, null);
    }

    /** The apptainer command, a name looked up on PATH or an absolute path. */
    public String path() {
        return path;
    }

    /** Where lifeboat-adopt-instance and lifeboat-with-fds are. */
    public Path helperDirectory() {
        return helperDirectory;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ApptainerConfig that && path.equals(that.path) && helperDirectory.equals(that.helperDirectory);
    }

    @Override
    public int hashCode() {
        return Objects.hash(path, helperDirectory);
    }

    @Override
    public String toString() {
        return "ApptainerConfig{path=" + path + ", helperDirectory=" + helperDirectory + "}";
    }
}
