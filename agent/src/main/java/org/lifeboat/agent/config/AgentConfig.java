package org.lifeboat.agent.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Pattern;

/** The agent's configuration: one instance per agent process, immutable, valid once constructed. */
public final class AgentConfig {

    private static final String DEFAULT_STATE_DIRECTORY = "/var/lib/lifeboat";
    private static final String DEFAULT_CHECKPOINT_DIRECTORY = "/var/lib/lifeboat/checkpoints";
    // Node names end up in file names and metric labels, so they are kept to a safe alphabet.
    private static final Pattern NODE_NAME = Pattern.compile("[A-Za-z0-9._-]+");

    private final String nodeName;
    private final Path stateDirectory;
    private final Path checkpointDirectory;
    private final HttpConfig http;

    /** Null arguments take the defaults, so a missing key in the file and a missing argument mean the same. */
    @JsonCreator
    public AgentConfig(
            @JsonProperty("node-name") String nodeName,
            @JsonProperty("state-directory") String stateDirectory,
            @JsonProperty("checkpoint-directory") String checkpointDirectory,
            @JsonProperty("http") HttpConfig http) {
        this.nodeName = requireValidNodeName(nodeName == null ? shortHostName() : nodeName);
        this.stateDirectory = requireAbsolute("state-directory",
                stateDirectory == null ? DEFAULT_STATE_DIRECTORY : stateDirectory);
        this.checkpointDirectory = requireAbsolute("checkpoint-directory",
                checkpointDirectory == null ? DEFAULT_CHECKPOINT_DIRECTORY : checkpointDirectory);
        this.http = http == null ? HttpConfig.defaults() : http;
    }

    public static AgentConfig defaults() {
        return new AgentConfig(null, null, null, null);
    }

    public String nodeName() {
        return nodeName;
    }

    public Path stateDirectory() {
        return stateDirectory;
    }

    /** Where CRIU images go; sites mount a tmpfs here, so the agent never creates it. */
    public Path checkpointDirectory() {
        return checkpointDirectory;
    }

    public HttpConfig http() {
        return http;
    }

    private static String shortHostName() {
        try {
            String hostName = InetAddress.getLocalHost().getHostName();
            int firstDot = hostName.indexOf('.');
            return firstDot < 0 ? hostName : hostName.substring(0, firstDot);
        } catch (UnknownHostException e) {
            throw new InvalidConfigValueException("node-name",
                    "is not set and the host name cannot be resolved (" + e.getMessage() + "); set node-name");
        }
    }

    private static String requireValidNodeName(String nodeName) {
        if (!NODE_NAME.matcher(nodeName).matches()) {
            throw new InvalidConfigValueException("node-name",
                    "must be non-empty and use only letters, digits, '.', '_' and '-', got '" + nodeName + "'");
        }
        return nodeName;
    }

    private static Path requireAbsolute(String key, String directory) {
        Path path;
        try {
            path = Path.of(directory);
        } catch (InvalidPathException e) {
            throw new InvalidConfigValueException(key, "is not a valid path: " + e.getMessage());
        }
        if (!path.isAbsolute()) {
            throw new InvalidConfigValueException(key, "must be an absolute path, got '" + directory + "'");
        }
        return path;
    }

    @Override
    public boolean equals(Object other) {
        if (!(other instanceof AgentConfig)) {
            return false;
        }
        AgentConfig that = (AgentConfig) other;
        return nodeName.equals(that.nodeName)
                && stateDirectory.equals(that.stateDirectory)
                && checkpointDirectory.equals(that.checkpointDirectory)
                && http.equals(that.http);
    }

    @Override
    public int hashCode() {
        return Objects.hash(nodeName, stateDirectory, checkpointDirectory, http);
    }

    @Override
    public String toString() {
        return "AgentConfig[nodeName=" + nodeName + ", stateDirectory=" + stateDirectory
                + ", checkpointDirectory=" + checkpointDirectory + ", http=" + http + "]";
    }
}
