package org.lifeboat.agent.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Set;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.lifeboat.agent.config.JobNetworkConfig;
import org.lifeboat.agent.json.AgentJson;

/**
 * This node's range of job addresses and who holds each. A lease is a file named after the
 * address in the agent's state directory, so it outlives an agent crash. An address stays leased
 * to its job while Slurm says the job is not over, wherever the job now runs: it moves with the
 * job, and the node that gave it must not give it again (that is also why every node has a range
 * of its own). A job that runs again (requeued after a failure) gets a new address: its old one
 * may still be up on a node that Slurm has written off but that still runs.
 */
public final class JobAddressPool {

    /** Which jobs are not over yet, cluster-wide (Slurm's view). */
    @FunctionalInterface
    public interface LiveJobs {
        Set<Long> notOver() throws IOException;
    }

    // The holder of a lease whose file cannot be read: never over.
    private static final long UNREADABLE = -1;
    private static final Logger LOG = Logger.getLogger(JobAddressPool.class.getName());

    private final JobNetworkConfig config;
    private final Path leases;
    private final LiveJobs liveJobs;
    private final Clock clock;
    private final ObjectMapper json = AgentJson.mapper();

    /** @param leases the directory of lease files (made if missing, root only) */
    public JobAddressPool(JobNetworkConfig config, Path leases, LiveJobs liveJobs, Clock clock) {
        if (!config.enabled()) {
            throw new IllegalArgumentException("job-network.addresses is not set: this node has no addresses to give");
        }
        this.config = config;
        this.leases = Objects.requireNonNull(leases, "leases");
        this.liveJobs = Objects.requireNonNull(liveJobs, "liveJobs");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * A free address of the range, now leased to the job. Leases of jobs that are over are given
     * back first (one question to Slurm), so an address is free again once its job has ended.
     *
     * @return the address, dotted
     * @throws IOException when every address is held by a job that is not over, or Slurm cannot say which are
     */
    public synchronized String lease(long job) throws IOException {
        Files.createDirectories(leases);
        Map<Long, Long> holders = reclaim(holders());
        for (long address = config.firstAddress(); address <= config.lastAddress(); address++) {
            if (!holders.containsKey(address)) {
                write(address, job);
                LOG.info("address " + JobNetworkConfig.format(address) + " leased to job " + job);
                return JobNetworkConfig.format(address);
            }
        }
        throw new IOException("every address of job-network.addresses (" + JobNetworkConfig.format(config.firstAddress()) + "-"
                + JobNetworkConfig.format(config.lastAddress()) + ") is held by a job that is not over");
    }

    /** Gives back the leases of jobs that are over; what the agent does when it starts. */
    public synchronized void reclaim() throws IOException {
        if (Files.isDirectory(leases)) {
            reclaim(holders());
        }
    }

    /** Address (as a number) to the job holding it. */
    synchronized Map<Long, Long> holders() throws IOException {
        Map<Long, Long> holders = new HashMap<>();
        if (!Files.isDirectory(leases)) {
            return holders;
        }
        try (Stream<Path> files = Files.list(leases)) {
            for (Path file : files.toList()) {
                String name = file.getFileName().toString();
                if (name.startsWith(".")) {
                    continue;
                }
                long address = parseAddress(name);
                holders.put(address, readJob(file));
            }
        }
        return holders;
    }

    private Map<Long, Long> reclaim(Map<Long, Long> holders) throws IOException {
        if (holders.isEmpty()) {
            return holders;
        }
        Set<Long> notOver = liveJobs.notOver();
        Map<Long, Long> kept = new HashMap<>();
        for (Map.Entry<Long, Long> lease : holders.entrySet()) {
            if (lease.getValue() == UNREADABLE || notOver.contains(lease.getValue())) {
                kept.put(lease.getKey(), lease.getValue());
            } else {
                Files.deleteIfExists(leases.resolve(JobNetworkConfig.format(lease.getKey())));
                LOG.info("address " + JobNetworkConfig.format(lease.getKey()) + " is free again: job " + lease.getValue() + " is over");
            }
        }
        return kept;
    }

    private void write(long address, long job) throws IOException {
        Path file = leases.resolve(JobNetworkConfig.format(address));
        Path temporary = leases.resolve("." + file.getFileName() + ".new");
        Files.writeString(temporary, json.writeValueAsString(Map.of("job", job, "leased", clock.instant().toString())) + "\n");
        try {
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** A lease file that cannot be read keeps its address held: giving it twice is the one thing not to do. */
    private long readJob(Path file) throws IOException {
        try {
            JsonNode lease = json.readTree(file.toFile());
            if (lease != null && lease.path("job").canConvertToLong() && lease.path("job").asLong() > 0) {
                return lease.path("job").asLong();
            }
        } catch (IOException e) {
            LOG.warning("lease " + file + " cannot be read (" + e.getMessage() + "): its address stays held; remove the file once "
                    + "no job uses the address");
            return UNREADABLE;
        }
        LOG.warning("lease " + file + " names no job: its address stays held; remove the file once no job uses the address");
        return UNREADABLE;
    }

    private long parseAddress(String name) throws IOException {
        OptionalLong address = JobNetworkConfig.parseAddress(name);
        if (address.isEmpty()) {
            throw new IOException("unexpected file " + leases.resolve(name) + " among the address leases");
        }
        return address.getAsLong();
    }
}
