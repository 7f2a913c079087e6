package org.lifeboat.agent.slurm;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.CommandRunner;

/** What the agent asks of Slurm, through Slurm's own commands (their output formats are stable across releases). */
public final class SlurmClient {

    // slurmctld answers in well under a second; a busy controller may take a few.
    private static final Duration QUERY_TIMEOUT = Duration.ofSeconds(30);
    // Job states in which a job still has processes on its nodes.
    private static final String ACTIVE_STATES = "RUNNING,COMPLETING,SUSPENDED,CONFIGURING";

    private final CommandRunner commands;

    public SlurmClient(CommandRunner commands) {
        this.commands = Objects.requireNonNull(commands, "commands");
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
