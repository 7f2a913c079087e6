package org.lifeboat.agent.network;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.lifeboat.agent.config.JobNetworkConfig;
import org.lifeboat.agent.process.CommandException;

/**
 * Networks of their own for jobs that ask (--migratable=net): before the job's first task starts
 * on this node, a namespace {@code lifeboat-job-JOB-NODE} with lo and one macvlan on the uplink,
 * holding an address leased from this node's range. lifeboat-run --network=job joins it for any
 * user whose task runs in that job (it checks the job's cgroup), and from there on the job moves
 * like one whose namespace root made: by name, rebuilt on the target with the same address.
 *
 * The node's name is in the namespace's name because several slurmd may share one host (and its
 * /run/netns); the name stays the same when the job moves, so on a job's later node it names the
 * node the job started on.
 */
public final class JobNetworkProvider {

    public static final String PREFIX = "lifeboat-job-";
    // The interface most programs and MPI libraries look for first.
    static final String INTERFACE = "eth0";
    private static final Pattern NAME = Pattern.compile(Pattern.quote(PREFIX) + "([0-9]{1,10})-.+");
    private static final Logger LOG = Logger.getLogger(JobNetworkProvider.class.getName());
    private static final Duration LINGERING_DEVICE_WAIT = Duration.ofSeconds(10);
    private static final Duration LINGERING_DEVICE_POLL = Duration.ofMillis(200);

    private final JobNetworks networks;
    private final JobAddressPool pool;
    private final JobNetworkConfig config;
    private final String nodeName;
    private final String uplink;
    private final Path namedNamespaces;
    private final JobAddressPool.LiveJobs liveJobs;

    public JobNetworkProvider(JobNetworks networks, JobAddressPool pool, JobNetworkConfig config, String nodeName, String uplink,
                              Path namedNamespaces, JobAddressPool.LiveJobs liveJobs) {
        this.networks = Objects.requireNonNull(networks, "networks");
        this.pool = Objects.requireNonNull(pool, "pool");
        this.config = Objects.requireNonNull(config, "config");
        this.nodeName = Objects.requireNonNull(nodeName, "nodeName");
        this.uplink = Objects.requireNonNull(uplink, "uplink");
        this.namedNamespaces = Objects.requireNonNull(namedNamespaces, "namedNamespaces");
        this.liveJobs = Objects.requireNonNull(liveJobs, "liveJobs");
    }

    /** The namespace lifeboat-run --network=job looks for: job and node as Slurm gives them to the task. */
    public static String namespaceName(long job, String node) {
        return PREFIX + job + "-" + node;
    }

    /**
     * The job's network on this node, made unless it exists (every step of the job registers; the
     * first makes it). Synchronized: two steps registering at once must not lease two addresses.
     *
     * @return the namespace's name
     */
    public synchronized String provide(long job) throws IOException {
        String name = namespaceName(job, nodeName);
        if (Files.exists(namedNamespaces.resolve(name))) {
            return name;
        }
        String address = pool.lease(job);
        JobNetwork network = new JobNetwork(name, INTERFACE, mac(address), List.of(address + "/" + config.prefixLength()),
                config.gateway().orElse(null));
        long deadline = System.nanoTime() + LINGERING_DEVICE_WAIT.toNanos();
        while (true) {
            try {
                networks.create(network, uplink);
                break;
            } catch (CommandException e) {
                // The kernel tears a namespace down after its last process is gone, in the background: the
                // interface (and MAC) of the address's last job may linger a moment after its end.
                if (!e.getMessage().contains("Address already in use") || System.nanoTime() > deadline) {
                    throw new IOException("cannot make job " + job + "'s network (" + address + " on " + uplink + "): "
                            + e.getMessage(), e);
                }
            }
            sleep();
        }
        LOG.info("job " + job + " has its own network " + name + ": " + address + "/" + config.prefixLength() + " on " + uplink);
        return name;
    }

    private static void sleep() throws IOException {
        try {
            Thread.sleep(LINGERING_DEVICE_POLL.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for a job network's old interface to go", e);
        }
    }

    /**
     * The job ended on this node: the names of its networks here go, once nothing is left in them.
     * Its address lease goes when Slurm says the job is over (see {@link JobAddressPool}): a job
     * that moved away ends here too (its epilog runs), yet its address lives on elsewhere.
     */
    public void jobEnded(long job) {
        for (String name : names(Optional.of(job))) {
            deleteIfEmpty(name);
        }
    }

    /**
     * At the agent's start: the names left by jobs that are over while the agent was away, and the
     * leases of those jobs, are given back.
     */
    public void reclaim() throws IOException {
        Set<Long> notOver = liveJobs.notOver();
        for (String name : names(Optional.empty())) {
            if (!notOver.contains(jobOf(name))) {
                deleteIfEmpty(name);
            }
        }
        pool.reclaim();
    }

    private void deleteIfEmpty(String name) {
        try {
            if (networks.hasProcesses(name)) {
                // On a host with several slurmd the name may be another node's, whose part still runs.
                return;
            }
        } catch (CommandException e) {
            LOG.warning("cannot tell whether network namespace " + name + " is still used: kept (" + e.getMessage() + ")");
            return;
        }
        networks.removeName(name);
        LOG.info("network namespace " + name + " removed: its job ended");
    }

    private List<String> names(Optional<Long> job) {
        if (!Files.isDirectory(namedNamespaces)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(namedNamespaces)) {
            return entries.map(entry -> entry.getFileName().toString())
                    .filter(name -> NAME.matcher(name).matches())
                    .filter(name -> job.map(id -> jobOf(name) == id).orElse(true))
                    .sorted().toList();
        } catch (IOException e) {
            LOG.warning("cannot list " + namedNamespaces + ": " + e.getMessage());
            return List.of();
        }
    }

    private static long jobOf(String name) {
        Matcher matcher = NAME.matcher(name);
        if (!matcher.matches()) {
            throw new IllegalArgumentException(name + " is not a job network's name");
        }
        return Long.parseLong(matcher.group(1));
    }

    /** A locally administered unicast MAC made of the address, so no two jobs' interfaces share one. */
    static String mac(String address) {
        StringBuilder mac = new StringBuilder("02:00");
        for (String part : address.split("\\.")) {
            mac.append(String.format(":%02x", Integer.parseInt(part)));
        }
        return mac.toString();
    }
}
