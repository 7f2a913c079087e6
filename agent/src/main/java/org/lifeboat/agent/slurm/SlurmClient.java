package org.lifeboat.agent.slurm;

import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.agent.process.CommandRunner;

/** What the agent asks of Slurm, through Slurm's own commands (their output formats are stable across releases). */
public final class SlurmClient {

    // slurmctld answers in well under a second; a busy controller may take a few.
    private static final Duration QUERY_TIMEOUT = Duration.ofSeconds(30);
    // scontrol gives a controller that does not answer MessageTimeout (10 s by default), then tries the backup.
    private static final Duration PING_TIMEOUT = Duration.ofSeconds(25);
    // Job states in which a job still has processes on its nodes.
    private static final String ACTIVE_STATES = "RUNNING,COMPLETING,SUSPENDED,CONFIGURING";
    // Job states from which a job never runs again (squeue --states=all also lists these until MinJobAge).
    private static final Set<String> FINAL_STATES = Set.of("BOOT_FAIL", "CANCELLED", "COMPLETED", "DEADLINE", "FAILED",
            "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "REVOKED", "TIMEOUT");

    // "sbatch: Job 12 to start at 2026-11-22T04:11:38 using 1 processors on nodes node2 in partition batch"
    private static final Pattern TEST_ONLY_ANSWER =
            Pattern.compile("to start at (\\S+) using \\d+ processors on nodes (\\S+) in partition");
    // A target that frees up later is no target: the job is frozen while we wait.
    private static final Duration START_SLACK = Duration.ofSeconds(5);
    private static final Duration POLL_INTERVAL = Duration.ofMillis(50);

    private final CommandRunner commands;
    private final Supplier<LocalDateTime> controllerClock;

    /** @param controllerClock now, in the local time Slurm prints (slurmctld runs on a host of the same zone) */
    public SlurmClient(CommandRunner commands, Supplier<LocalDateTime> controllerClock) {
        this.commands = Objects.requireNonNull(commands, "commands");
        this.controllerClock = Objects.requireNonNull(controllerClock, "controllerClock");
    }

    public SlurmClient(CommandRunner commands) {
        this(commands, LocalDateTime::now);
    }

    /**
     * Whether a slurmctld answers this node ({@code scontrol ping}, which needs munged as every Slurm
     * request does): the controllers' lines, e.g. "Slurmctld(primary) at ctl1 is UP". scontrol exits 0
     * once one controller answered; otherwise the exception gives its lines and what it printed on stderr.
     */
    public String ping() throws CommandException {
        CommandResult result = commands.run(List.of("scontrol", "ping"), PING_TIMEOUT);
        List<String> said = new ArrayList<>(result.stdout().lines().filter(line -> line.startsWith("Slurmctld(")).toList());
        if (result.succeeded()) {
            return String.join("; ", said);
        }
        result.stderr().lines().map(String::strip).filter(line -> !line.isEmpty()).reduce((first, last) -> last)
                .ifPresent(said::add);
        throw new CommandException("scontrol ping exited " + result.exitCode() + (said.isEmpty() ? " with no output" : ": "
                + String.join("; ", said)));
    }

    /** The job as Slurm sees it now. */
    public SlurmJob job(long jobId) throws CommandException {
        List<String> command = List.of("scontrol", "--oneliner", "show", "job", Long.toString(jobId));
        String output = commands.run(command, QUERY_TIMEOUT).requireSuccess().stdout();
        try {
            return SlurmJob.parse(output.lines().findFirst().orElse(""));
        } catch (IllegalArgumentException e) {
            throw new CommandException(String.join(" ", command) + ": " + e.getMessage());
        }
    }

    /**
     * Asks Slurm which node, other than those excluded, could start the job right now, honouring its
     * partition, CPUs, memory and constraints ({@code sbatch --test-only} runs the scheduler's own
     * placement without submitting anything). Empty when no node can take it now.
     */
    public Optional<String> chooseTarget(SlurmJob job, Set<String> excluded) throws CommandException {
        List<String> command = new ArrayList<>(List.of("sbatch", "--test-only", "--nodes=1", "--ntasks=1",
                "--cpus-per-task=" + job.cpus(), "--partition=" + job.partition()));
        if (job.memoryPerNode() != null) {
            command.add("--mem=" + job.memoryPerNode());
        } else if (job.memoryPerCpu() != null) {
            command.add("--mem-per-cpu=" + job.memoryPerCpu());
        }
        if (job.features() != null) {
            command.add("--constraint=" + job.features());
        }
        if (!excluded.isEmpty()) {
            command.add("--exclude=" + String.join(",", new TreeSet<>(excluded)));
        }
        command.addAll(List.of("--job-name=lifeboat-target-probe", "--output=/dev/null", "--wrap=true"));
        CommandResult result = commands.run(command, QUERY_TIMEOUT);
        // sbatch answers on stderr, and exits non-zero when no node could ever fit the request.
        Matcher answer = TEST_ONLY_ANSWER.matcher(result.stderr());
        if (result.exitCode() != 0 || !answer.find()) {
            return Optional.empty();
        }
        String node = answer.group(2);
        if (node.contains(",") || node.contains("[")) {
            return Optional.empty(); // more than one node: not a single-node job after all
        }
        try {
            LocalDateTime start = LocalDateTime.parse(answer.group(1));
            if (start.isAfter(controllerClock.get().plus(START_SLACK))) {
                return Optional.empty();
            }
        } catch (DateTimeParseException e) {
            throw new CommandException("sbatch --test-only printed a start time that is not one: " + answer.group(1));
        }
        return Optional.of(node);
    }

    /**
     * Puts the job back in the queue. Slurm kills what is left of it on its node (the frozen source
     * copy of a migrated container) and runs its epilog; the job keeps its id.
     */
    public void requeue(long jobId) throws CommandException {
        commands.run(List.of("scontrol", "requeue", Long.toString(jobId)), QUERY_TIMEOUT).requireSuccess();
    }

    /**
     * Pins a requeued job to the node and lets it start at once. Slurm gives a requeued job a
     * BeginTime about two minutes ahead; it can only be cleared once the job is PENDING (set in
     * the same call as the requeue, it does not stick), so this waits for that first.
     */
    public void startPendingJobOn(long jobId, String node, Duration timeout) throws CommandException, InterruptedException {
        awaitState(jobId, "PENDING", timeout);
        pin(jobId, node);
        startNow(jobId);
    }

    /** Lets a pending job start on this node alone (its ReqNodeList). */
    public void pin(long jobId, String node) throws CommandException {
        commands.run(List.of("scontrol", "update", "jobid=" + jobId, "nodelist=" + node), QUERY_TIMEOUT).requireSuccess();
    }

    /** Lifts a pending job's BeginTime, such as the one Slurm gives every requeued job. */
    public void startNow(long jobId) throws CommandException {
        commands.run(List.of("scontrol", "update", "jobid=" + jobId, "starttime=now"), QUERY_TIMEOUT).requireSuccess();
    }

    /**
     * Lets a requeued (pending) job start on any node of its partition except this one, now:
     * the node list it may have been pinned to is cleared, the node is excluded, and Slurm's
     * requeue delay (BeginTime) is lifted.
     */
    public void releaseToAnyNodeBut(long jobId, String node) throws CommandException {
        String job = "jobid=" + jobId;
        commands.run(List.of("scontrol", "update", job, "nodelist="), QUERY_TIMEOUT).requireSuccess();
        commands.run(List.of("scontrol", "update", job, "excnodelist=" + node), QUERY_TIMEOUT).requireSuccess();
        startNow(jobId);
    }

    /** Writes the job's AdminComment, which {@code scontrol show job} prints (only admins may set it). */
    public void setAdminComment(long jobId, String comment) throws CommandException {
        commands.run(List.of("scontrol", "update", "jobid=" + jobId, "admincomment=" + comment), QUERY_TIMEOUT)
                .requireSuccess();
    }

    /** Waits until squeue shows the job in the state; fails after the timeout naming the state it is in. */
    public void awaitState(long jobId, String state, Duration timeout) throws CommandException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String current = "";
        while (System.nanoTime() < deadline) {
            current = commands.run(List.of("squeue", "--noheader", "--jobs=" + jobId, "--format=%T"), QUERY_TIMEOUT)
                    .requireSuccess().stdout().strip();
            if (current.equals(state)) {
                return;
            }
            Thread.sleep(POLL_INTERVAL.toMillis());
        }
        throw new CommandException("job " + jobId + " did not become " + state + " within " + timeout.toSeconds()
                + " s; it is " + (current.isEmpty() ? "gone from the queue" : current));
    }

    /** The node's state flags as scontrol prints them, e.g. "IDLE+DRAIN" or "MIXED". */
    public String nodeState(String node) throws CommandException {
        List<String> command = List.of("scontrol", "--oneliner", "show", "node", node);
        String output = commands.run(command, QUERY_TIMEOUT).requireSuccess().stdout();
        for (String field : output.strip().split("\\s+")) {
            if (field.startsWith("State=")) {
                return field.substring("State=".length());
            }
        }
        throw new CommandException(String.join(" ", command) + " printed no State: " + output.strip());
    }

    /** Whether Slurm has a node of this name (scontrol knows it). */
    public boolean nodeExists(String node) throws CommandException {
        CommandResult result = commands.run(List.of("scontrol", "--oneliner", "show", "node", node), QUERY_TIMEOUT);
        if (result.exitCode() == 0) {
            return result.stdout().contains("NodeName=" + node + " ");
        }
        if (result.stderr().contains("not found")) {
            return false;
        }
        throw new CommandException("scontrol show node " + node + " exited " + result.exitCode() + ": " + result.stderr().strip());
    }

    /** The reason the node is drained or down, as set (without Slurm's "[user@time]" suffix); empty when none. */
    public String nodeReason(String node) throws CommandException {
        String output = commands.run(List.of("scontrol", "--oneliner", "show", "node", node), QUERY_TIMEOUT)
                .requireSuccess().stdout().strip();
        // Reason= is the last field Slurm prints that may hold spaces; what follows it is "[user@time]".
        int start = output.indexOf(" Reason=");
        if (start < 0) {
            return "";
        }
        String reason = output.substring(start + " Reason=".length());
        int stamp = reason.lastIndexOf(" [");
        return (stamp >= 0 ? reason.substring(0, stamp) : reason).strip();
    }

    /** Returns a drained node to service. */
    public void resume(String node) throws CommandException {
        commands.run(List.of("scontrol", "update", "nodename=" + node, "state=resume"), QUERY_TIMEOUT).requireSuccess();
    }

    /** True for the states in which Slurm schedules nothing new on a node: drained, draining, down, failing. */
    public static boolean isLeaving(String nodeState) {
        for (String flag : nodeState.split("\\+")) {
            if (flag.startsWith("DRAIN") || flag.equals("DOWN") || flag.startsWith("FAIL")) {
                return true;
            }
        }
        return false;
    }

    /** Drains the node; its agent then evacuates it. */
    public void drain(String node, String reason) throws CommandException {
        commands.run(List.of("scontrol", "update", "nodename=" + node, "state=drain", "reason=" + reason), QUERY_TIMEOUT)
                .requireSuccess();
    }

    /** The address other nodes reach the node at: its NodeAddr (its name when none is set). */
    public String nodeAddress(String node) throws CommandException {
        List<String> command = List.of("scontrol", "--oneliner", "show", "node", node);
        String output = commands.run(command, QUERY_TIMEOUT).requireSuccess().stdout();
        for (String field : output.strip().split("\\s+")) {
            if (field.startsWith("NodeAddr=")) {
                return field.substring("NodeAddr=".length());
            }
        }
        throw new CommandException(String.join(" ", command) + " printed no NodeAddr: " + output.strip());
    }

    /**
     * Ids of every job in the cluster that is not over: pending (a requeued one too), running,
     * suspended, completing. A job Slurm has forgotten (older than MinJobAge) is over as well.
     */
    public Set<Long> jobsNotOver() throws CommandException {
        List<String> command = List.of("squeue", "--noheader", "--states=all", "--format=%A %T");
        String output = commands.run(command, QUERY_TIMEOUT).requireSuccess().stdout();
        Set<Long> jobs = new TreeSet<>();
        for (String line : output.strip().lines().toList()) {
            if (line.isBlank()) {
                continue;
            }
            String[] fields = line.strip().split("\\s+");
            if (fields.length != 2 || !fields[0].matches("[0-9]+")) {
                throw new CommandException(String.join(" ", command) + " printed an unexpected line: " + line);
            }
            if (!FINAL_STATES.contains(fields[1])) {
                jobs.add(Long.parseLong(fields[0]));
            }
        }
        return jobs;
    }

    /** The node names of a Slurm host list such as {@code node[1-3],gpu7}, in Slurm's order. */
    public List<String> hostnames(String hostList) throws CommandException {
        List<String> command = List.of("scontrol", "show", "hostnames", hostList);
        List<String> names = commands.run(command, QUERY_TIMEOUT).requireSuccess().stdout().lines().map(String::strip)
                .filter(line -> !line.isEmpty()).toList();
        for (String name : names) {
            if (!name.matches("[A-Za-z0-9._-]{1,255}")) {
                throw new CommandException(String.join(" ", command) + " printed an unexpected line: " + name);
            }
        }
        return names;
    }

    /** Ids of the jobs that Slurm says are active on the node. */
    public Set<Long> activeJobsOn(String node) throws CommandException {
        // %A is the numeric job id even for array tasks, where %i would print "123_4".
        List<String> command = List.of("squeue", "--noheader", "--nodelist=" + node, "--states=" + ACTIVE_STATES,
                "--format=%A");
        String output = commands.run(command, QUERY_TIMEOUT).requireSuccess().stdout();
        Set<Long> jobs = new TreeSet<>();
        for (String line : output.strip().lines().toList()) {
            if (!line.isBlank()) {
                if (!line.strip().matches("[0-9]+")) {
                    throw new CommandException(String.join(" ", command) + " printed an unexpected line: " + line);
                }
                jobs.add(Long.parseLong(line.strip()));
            }
        }
        return jobs;
    }
}
