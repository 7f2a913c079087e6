package org.lifeboat.agent.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import org.lifeboat.predictor.config.PredictorConfig;

/** The agent's configuration: one instance per agent process, immutable, valid once constructed. */
public final class AgentConfig {

    private static final String DEFAULT_STATE_DIRECTORY = "/var/lib/lifeboat";
    private static final String DEFAULT_CHECKPOINT_DIRECTORY = "/var/lib/lifeboat/checkpoints";
    // systemd's RuntimeDirectory=lifeboat creates /run/lifeboat for the agent.
    private static final String DEFAULT_SOCKET_PATH = "/run/lifeboat/agent.sock";
    // The user Debian's and the RPM-packaged Slurm run slurmctld as (SlurmUser).
    private static final String DEFAULT_SLURM_USER = "slurm";
    // Where Debian's package and a source install of CRIU put it.
    private static final String DEFAULT_CRIU_PATH = "/usr/sbin/criu";
    // lifeboat-run's default --state-dir parent.
    private static final String DEFAULT_CONTAINERS_DIRECTORY = "/run/lifeboat/containers";
    // lifeboat-run looks here (DIR/NODE/JOBID) for a container restored for its job.
    private static final String DEFAULT_RESUME_DIRECTORY = "/run/lifeboat/resume";
    private static final String DEFAULT_TRANSFER_MODE = "diskless";
    private static final List<String> TRANSFER_MODES = List.of("diskless", "shared-fs", "post-copy");
    // The usual name of a node's first Ethernet interface; sites with other names set it.
    static final String DEFAULT_UPLINK_INTERFACE = "eth0";
    private static final Pattern INTERFACE_NAME = Pattern.compile("[A-Za-z0-9._-]{1,15}");
    private static final Pattern USER_NAME = Pattern.compile("[A-Za-z0-9._][A-Za-z0-9._-]*\\$?");
    // Node names end up in file names and metric labels, so they are kept to a safe alphabet.
    private static final Pattern NODE_NAME = Pattern.compile("[A-Za-z0-9._-]+");

    private final String nodeName;
    private final Path stateDirectory;
    private final Path checkpointDirectory;
    private final Path socketPath;
    private final String slurmUser;
    private final String criuPath;
    private final Path containersDirectory;
    private final Path resumeDirectory;
    private final Path sharedDirectory;
    private final String transferMode;
    private final String uplinkInterface;
    private final boolean uplinkInterfaceGiven;
    private final HttpConfig http;
    private final PeerConfig peer;
    private final EvacuationConfig evacuation;
    private final HealthConfig health;
    private final JobNetworkConfig jobNetwork;
    private final PredictorConfig predictor;
    private final ApptainerConfig apptainer;

    /** Null arguments take the defaults, so a missing key in the file and a missing argument mean the same. */
    @JsonCreator
    public AgentConfig(
            @JsonProperty("node-name") String nodeName,
            @JsonProperty("state-directory") String stateDirectory,
            @JsonProperty("checkpoint-directory") String checkpointDirectory,
            @JsonProperty("socket-path") String socketPath,
            @JsonProperty("slurm-user") String slurmUser,
            @JsonProperty("criu-path") String criuPath,
            @JsonProperty("containers-directory") String containersDirectory,
            @JsonProperty("resume-directory") String resumeDirectory,
            @JsonProperty("shared-directory") String sharedDirectory,
            @JsonProperty("transfer-mode") String transferMode,
            @JsonProperty("uplink-interface") String uplinkInterface,
            @JsonProperty("job-network") JobNetworkConfig jobNetwork,
            @JsonProperty("http") HttpConfig http,
            @JsonProperty("peer") PeerConfig peer,
            @JsonProperty("evacuation") EvacuationConfig evacuation,
            @JsonProperty("health") HealthConfig health,
            @JsonProperty("predictor") PredictorConfig predictor,
            @JsonProperty("apptainer") ApptainerConfig apptainer) {
        this.nodeName = requireValidNodeName(nodeName == null ? shortHostName() : nodeName);
        this.stateDirectory = requireAbsolute("state-directory",
                stateDirectory == null ? DEFAULT_STATE_DIRECTORY : stateDirectory);
        this.checkpointDirectory = requireAbsolute("checkpoint-directory",
                checkpointDirectory == null ? DEFAULT_CHECKPOINT_DIRECTORY : checkpointDirectory);
        this.socketPath = requireAbsolute("socket-path", socketPath == null ? DEFAULT_SOCKET_PATH : socketPath);
        this.slurmUser = requireUserName(slurmUser == null ? DEFAULT_SLURM_USER : slurmUser);
        this.criuPath = criuPath == null ? DEFAULT_CRIU_PATH : requireAbsolute("criu-path", criuPath).toString();
        this.containersDirectory = requireAbsolute("containers-directory",
                containersDirectory == null ? DEFAULT_CONTAINERS_DIRECTORY : containersDirectory);
        this.resumeDirectory = requireAbsolute("resume-directory",
                resumeDirectory == null ? DEFAULT_RESUME_DIRECTORY : resumeDirectory);
        this.sharedDirectory = sharedDirectory == null ? null : requireAbsolute("shared-directory", sharedDirectory);
        this.transferMode = requireTransferMode("transfer-mode", transferMode == null ? DEFAULT_TRANSFER_MODE : transferMode,
                this.sharedDirectory);
        this.uplinkInterfaceGiven = uplinkInterface != null;
        this.uplinkInterface = uplinkInterface == null ? DEFAULT_UPLINK_INTERFACE : uplinkInterface;
        if (!INTERFACE_NAME.matcher(this.uplinkInterface).matches()) {
            throw new InvalidConfigValueException("uplink-interface", "must be a network interface name, got '" + uplinkInterface + "'");
        }
        this.jobNetwork = jobNetwork == null ? JobNetworkConfig.defaults() : jobNetwork;
        this.http = http == null ? HttpConfig.defaults() : http;
        this.peer = peer == null ? PeerConfig.defaults() : peer;
        this.evacuation = evacuation == null ? EvacuationConfig.defaults() : evacuation;
        this.evacuation.drainTransferMode().ifPresent(mode ->
                requireTransferMode("evacuation.drain-transfer-mode", mode, this.sharedDirectory));
        this.evacuation.predictionTransferMode().ifPresent(mode ->
                requireTransferMode("evacuation.prediction-transfer-mode", mode, this.sharedDirectory));
        this.health = health == null ? HealthConfig.defaults() : health;
        this.predictor = predictor == null ? PredictorConfig.defaults() : predictor;
        this.apptainer = apptainer == null ? ApptainerConfig.defaults() : apptainer;
    }

    public static AgentConfig defaults() {
        return new AgentConfig(null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null);
    }

    public ApptainerConfig apptainer() {
        return apptainer;
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

    /** The Unix socket slurmstepd registers jobs on and the {@code lifeboat} command talks to. */
    public Path socketPath() {
        return socketPath;
    }

    /** Slurm's SlurmUser (a name or a uid): besides root, the one user whose processes may register jobs. */
    public String slurmUser() {
        return slurmUser;
    }

    /** The CRIU binary (version 4 or later). */
    public String criuPath() {
        return criuPath;
    }

    /** Where lifeboat-run keeps each container's state and manifest (its --state-dir parent). */
    public Path containersDirectory() {
        return containersDirectory;
    }

    /** Where the agent tells lifeboat-run of containers restored here (DIR/NODE/JOBID); lifeboat-run's --resume-dir. */
    public Path resumeDirectory() {
        return resumeDirectory;
    }

    /** A directory every node mounts, for shared-fs migrations; empty when the site has none. */
    public Optional<Path> sharedDirectory() {
        return Optional.ofNullable(sharedDirectory);
    }

    /** "diskless" or "shared-fs": the mode a migration uses unless it names one. */
    public String transferMode() {
        return transferMode;
    }

    /** How a drain's jobs move: evacuation.drain-transfer-mode, else transfer-mode. */
    public String drainTransferMode() {
        return evacuation.drainTransferMode().orElse(transferMode);
    }

    /** How a predicted failure's jobs move: evacuation.prediction-transfer-mode, else transfer-mode. */
    public String predictionTransferMode() {
        return evacuation.predictionTransferMode().orElse(transferMode);
    }

    /** The transfer modes a site may choose (TransferMode's wire names), and what each needs. */
    static String requireTransferMode(String key, String mode, Path sharedDirectory) {
        if (!TRANSFER_MODES.contains(mode)) {
            throw new InvalidConfigValueException(key, "must be one of " + String.join(", ", TRANSFER_MODES) + ", got '"
                    + mode + "'");
        }
        if (mode.equals("shared-fs") && sharedDirectory == null) {
            throw new InvalidConfigValueException(key, "is 'shared-fs' but no shared-directory is set");
        }
        return mode;
    }

    /** The node's interface that jobs' own interfaces (macvlans) are made on, when a job with its own address arrives. */
    public String uplinkInterface() {
        return uplinkInterface;
    }

    /**
     * Whether the file names the uplink interface. A site that names it runs jobs with their own addresses and
     * wants the agent stopped when it is missing; one that does not gets eth0 if the node has it.
     */
    public boolean uplinkInterfaceGiven() {
        return uplinkInterfaceGiven;
    }

    public HttpConfig http() {
        return http;
    }

    public PeerConfig peer() {
        return peer;
    }

    public EvacuationConfig evacuation() {
        return evacuation;
    }

    /** The {@code job-network:} section: addresses for jobs that ask for a network of their own. */
    public JobNetworkConfig jobNetwork() {
        return jobNetwork;
    }

    /** The {@code health:} section: the dependency checks behind /health and lifeboat_dependency_ready. */
    public HealthConfig health() {
        return health;
    }

    /** The {@code predictor:} section: failure predictions in (see the failure-predictor-adapter module). */
    public PredictorConfig predictor() {
        return predictor;
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

    private static String requireUserName(String user) {
        if (!USER_NAME.matcher(user).matches()) {
            throw new InvalidConfigValueException("slurm-user", "must be a user name or a uid, got '" + user + "'");
        }
        return user;
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
                && socketPath.equals(that.socketPath)
                && slurmUser.equals(that.slurmUser)
                && criuPath.equals(that.criuPath)
                && containersDirectory.equals(that.containersDirectory)
                && resumeDirectory.equals(that.resumeDirectory)
                && Objects.equals(sharedDirectory, that.sharedDirectory)
                && transferMode.equals(that.transferMode)
                && uplinkInterface.equals(that.uplinkInterface)
                && uplinkInterfaceGiven == that.uplinkInterfaceGiven
                && http.equals(that.http)
                && peer.equals(that.peer)
                && evacuation.equals(that.evacuation)
                && health.equals(that.health)
                && jobNetwork.equals(that.jobNetwork)
                && predictor.equals(that.predictor)
                && apptainer.equals(that.apptainer);
    }

    @Override
    public int hashCode() {
        return Objects.hash(nodeName, stateDirectory, checkpointDirectory, socketPath, slurmUser, criuPath,
                containersDirectory, resumeDirectory, sharedDirectory, transferMode, uplinkInterface, uplinkInterfaceGiven, http, peer,
                evacuation, health, jobNetwork, predictor, apptainer);
    }

    @Override
    public String toString() {
        return "AgentConfig[nodeName=" + nodeName + ", stateDirectory=" + stateDirectory
                + ", checkpointDirectory=" + checkpointDirectory + ", socketPath=" + socketPath
                + ", slurmUser=" + slurmUser + ", criuPath=" + criuPath + ", containersDirectory=" + containersDirectory
                + ", resumeDirectory=" + resumeDirectory
                + ", sharedDirectory=" + sharedDirectory + ", transferMode=" + transferMode
                + ", uplinkInterface=" + uplinkInterface + (uplinkInterfaceGiven ? "" : " (default)")
                + ", http=" + http
                + ", peer=" + peer + ", evacuation=" + evacuation + ", health=" + health + ", jobNetwork=" + jobNetwork + ", predictor=" + predictor + ", apptainer=" + apptainer + "]";
    }
}
