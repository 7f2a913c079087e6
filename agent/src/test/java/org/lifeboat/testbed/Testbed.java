package org.lifeboat.testbed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.ProcessCommandRunner;

/**
 * The running testbed cluster (testbed/cluster.sh) as integration tests see it: its nodes, their
 * addresses, and the real Slurm commands pointed at its configuration.
 */
public final class Testbed {

    public static final List<String> NODES = List.of("node1", "node2", "node3", "node4");
    /** The ordinary user whose jobs the tests run unless a test is about root (testbed/lib.sh's TEST_USERS). */
    public static final String JOB_USER = "lbalice";
    /** A second ordinary user, for what one user may do to another's jobs. */
    public static final String OTHER_USER = "lbbob";
    public static final int AGENT_HTTP_PORT = 9464;
    private static final String SUBNET_PREFIX = "10.241.0.";
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(120);
    private static final Pattern SUBMITTED = Pattern.compile("Submitted batch job (\\d+)");

    private final Path repository;

    public Testbed(Path repository) {
        this.repository = Objects.requireNonNull(repository, "repository");
    }

    /** The repository root, from the system property Maven sets, else the working directory's parent. */
    public static Path locateRepository() {
        String configured = System.getProperty("lifeboat.repo");
        Path candidate = configured != null ? Path.of(configured) : Path.of("").toAbsolutePath().getParent();
        if (!Files.isRegularFile(candidate.resolve("testbed/cluster.sh"))) {
            throw new IllegalStateException("cannot find testbed/cluster.sh below " + candidate);
        }
        return candidate;
    }

    public Path repository() {
        return repository;
    }

    public Path clusterScript() {
        return repository.resolve("testbed/cluster.sh");
    }

    /** Outside the checkout, where the jobs' users can reach it (testbed/lib.sh says why). */
    public Path runDirectory() {
        return Path.of(System.getenv().getOrDefault("TESTBED_RUN", "/var/lib/lifeboat-testbed"));
    }

    /** lifeboat-run installed setuid root, and the test workloads, where users may run them. */
    public Path userBinary(String name) {
        return runDirectory().resolve("bin").resolve(name);
    }

    public Path slurmConfig() {
        return runDirectory().resolve("etc/slurm.conf");
    }

    public Path criu() {
        return repository.resolve("testbed/cache/criu/sbin/criu");
    }

    public static String nodeAddress(String node) {
        return SUBNET_PREFIX + node.substring("node".length());
    }

    public static String networkNamespace(String node) {
        return "lb-" + node;
    }

    public Path agentSocket(String node) {
        return runDirectory().resolve("nodes").resolve(node).resolve("agent.sock");
    }

    public Path agentPidFile(String node) {
        return runDirectory().resolve("nodes").resolve(node).resolve("agent.pid");
    }

    /** The node's {@code predictor.token-file}, which its agent creates: what root's {@code lifeboat predict} reads. */
    public Path predictionToken(String node) {
        return runDirectory().resolve("nodes").resolve(node).resolve("prediction-token");
    }

    public Path nodeConfigDirectory(String node) {
        return runDirectory().resolve("etc").resolve(node);
    }

    /** The {@code lifeboat} command line as root, from the built agent jar. */
    public CommandResult lifeboat(String... arguments) {
        return run(COMMAND_TIMEOUT, lifeboatCommand(arguments));
    }

    /** The {@code lifeboat} command line run as another (non-root) user, from the copy users can read. */
    public CommandResult lifeboatAs(String user, String... arguments) {
        List<String> argv = new ArrayList<>(List.of("runuser", "-u", user, "--"));
        argv.addAll(lifeboatCommand(runDirectory().resolve("lib/agent/lifeboat-agent.jar"), arguments));
        return run(COMMAND_TIMEOUT, argv);
    }

    private List<String> lifeboatCommand(String... arguments) {
        return lifeboatCommand(repository.resolve("agent/target/lifeboat-agent.jar"), arguments);
    }

    private static List<String> lifeboatCommand(Path jar, String... arguments) {
        List<String> argv = new ArrayList<>(List.of("java", "-jar", jar.toString()));
        argv.addAll(List.of(arguments));
        return argv;
    }

    /** Kills a node's agent (SIGKILL) and starts it again through the testbed, as a crash and a restart would. */
    public void restartAgent(String node) {
        killAgent(node);
        run(Duration.ofMinutes(2), List.of(clusterScript().toString(), "up")).orThrow();
    }

    /** Every node back in service, whatever a test drained (a node already idle stays so). */
    public void resumeNodes() {
        run("scontrol", "update", "nodename=" + String.join(",", NODES), "state=resume");
    }

    public void killAgent(String node) {
        try {
            String pid = Files.readString(agentPidFile(node)).strip();
            run("kill", "-KILL", pid);
            await(() -> !Files.exists(Path.of("/proc", pid)), Duration.ofSeconds(10), () -> "agent " + pid + " survived SIGKILL");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Path agentLog(String node) {
        return runDirectory().resolve("log").resolve("agent-" + node + ".log");
    }

    /** Creates an unprivileged user for a test, once; the testbed's nodes share this machine's users. */
    public void ensureUser(String user) {
        if (!run("id", "-u", user).succeeded()) {
            run("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user).orThrow();
        }
    }

    public String agentUrl(String node, String path) {
        return "http://" + nodeAddress(node) + ":" + AGENT_HTTP_PORT + path;
    }

    /** What the node's agent exports at /metrics now, in Prometheus' text format. */
    public String agentMetrics(String node) {
        return run("curl", "-sf", agentUrl(node, "/metrics")).orThrow().stdout();
    }

    /** Runs a command with the testbed's SLURM_CONF; never throws for a non-zero exit. */
    public CommandResult run(String... command) {
        return run(COMMAND_TIMEOUT, List.of(command));
    }

    public CommandResult run(Duration timeout, List<String> command) {
        try {
            org.lifeboat.agent.process.CommandResult result =
                    new ProcessCommandRunner(Map.of("SLURM_CONF", slurmConfig().toString())).run(command, timeout);
            return new CommandResult(result.command(), result.exitCode(), result.stdout(), result.stderr());
        } catch (CommandException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    /** Runs a command inside a node's network namespace only, as the node's own daemons run. */
    public CommandResult runOnNode(String node, String... command) {
        List<String> argv = new ArrayList<>(List.of("nsenter", "--net=/run/netns/" + networkNamespace(node), "--"));
        argv.addAll(List.of(command));
        return run(COMMAND_TIMEOUT, argv);
    }

    /** Submits a batch job of root's with sbatch and returns its id. */
    public long sbatch(String... arguments) {
        return submit(List.of("sbatch"), arguments);
    }

    /** Submits a batch job as an ordinary user, as users submit theirs, and returns its id. */
    public long sbatchAs(String user, String... arguments) {
        return submit(List.of("runuser", "-u", user, "--", "sbatch"), arguments);
    }

    /** The user's uid on this machine (the testbed's nodes share its users). */
    public int uidOf(String user) {
        return Integer.parseInt(run("id", "-u", user).orThrow().stdout().strip());
    }

    private long submit(List<String> sbatch, String... arguments) {
        List<String> argv = new ArrayList<>(sbatch);
        argv.addAll(List.of(arguments));
        CommandResult result = run(COMMAND_TIMEOUT, argv).orThrow();
        Matcher matcher = SUBMITTED.matcher(result.stdout());
        if (!matcher.find()) {
            throw new AssertionError("sbatch printed no job id: " + result.describe());
        }
        return Long.parseLong(matcher.group(1));
    }

    /** The job's fields as `scontrol -o show job` prints them (key=value, one line). */
    public Map<String, String> job(long jobId) {
        String line = run("scontrol", "-o", "show", "job", Long.toString(jobId)).orThrow().stdout().strip();
        Map<String, String> fields = new HashMap<>();
        for (String token : line.split(" ")) {
            int equals = token.indexOf('=');
            if (equals > 0) {
                fields.put(token.substring(0, equals), token.substring(equals + 1));
            }
        }
        return fields;
    }

    public String jobState(long jobId) {
        return job(jobId).get("JobState");
    }

    /** Waits until the job is in the given state; fails with the job's fields otherwise. */
    public void awaitJobState(long jobId, String state, Duration timeout) {
        await(() -> state.equals(jobState(jobId)), timeout,
                () -> "job " + jobId + " did not reach " + state + ": " + job(jobId));
    }

    public static void await(BooleanSupplier condition, Duration timeout, java.util.function.Supplier<String> failure) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(failure.get());
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }
    }
}
