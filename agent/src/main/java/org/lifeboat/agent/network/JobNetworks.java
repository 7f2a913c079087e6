package org.lifeboat.agent.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.logging.Logger;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.CommandRunner;

/**
 * Jobs' own network namespaces (the seed paper's macvlan approach): read on the source, released
 * there once the job is frozen, rebuilt on the target with the same name, MAC, address and routes,
 * so the address is up on one node at a time and the job's TCP connections survive the move.
 */
public final class JobNetworks {

    public static final Path NAMED_NAMESPACES = Path.of("/run/netns");
    private static final Duration IP_TIMEOUT = Duration.ofSeconds(15);
    private static final Logger LOG = Logger.getLogger(JobNetworks.class.getName());

    private final CommandRunner commands;
    private final ObjectMapper json = AgentJson.mapper();
    private final Executor announcements;

    /** @param announcements sends gratuitous ARP off the migration's path; the agent's lifecycle owns it */
    public JobNetworks(CommandRunner commands, Executor announcements) {
        this.commands = Objects.requireNonNull(commands, "commands");
        this.announcements = Objects.requireNonNull(announcements, "announcements");
    }

    /** The name of a namespace path as lifeboat-run's --netns got it; only named namespaces can be rebuilt. */
    public static String namespaceName(Path namespace) throws IOException {
        if (!namespace.getParent().equals(NAMED_NAMESPACES)) {
            throw new IOException("the job's network namespace " + namespace + " is not a named one under " + NAMED_NAMESPACES
                    + ": it cannot be rebuilt on another node");
        }
        return namespace.getFileName().toString();
    }

    /** What the target must rebuild: the namespace's one non-loopback interface, its addresses and default route. */
    public JobNetwork describe(String namespace) throws CommandException, IOException {
        JsonNode links = json.readTree(ip("-n", namespace, "-j", "address", "show"));
        JobNetwork network = null;
        for (JsonNode link : links) {
            if (link.path("link_type").asText().equals("loopback")) {
                continue;
            }
            if (network != null) {
                throw new IOException("the job's network namespace " + namespace + " has more than one interface");
            }
            List<String> addresses = new ArrayList<>();
            for (JsonNode address : link.path("addr_info")) {
                if (address.path("family").asText().equals("inet")) {
                    addresses.add(address.path("local").asText() + "/" + address.path("prefixlen").asInt());
                }
            }
            network = new JobNetwork(namespace, link.path("ifname").asText(), link.path("address").asText(), addresses, null);
        }
        if (network == null) {
            throw new IOException("the job's network namespace " + namespace + " has no interface besides lo");
        }
        String gateway = null;
        for (JsonNode route : json.readTree(ip("-n", namespace, "-j", "route", "show", "default"))) {
            gateway = route.path("gateway").asText(null);
        }
        return new JobNetwork(network.namespace(), network.interfaceName(), network.mac(), network.addresses(), gateway);
    }

    /**
     * Source, once the job is frozen: the interface goes down (its routes with it; a down link
     * answers no ARP) and the name goes, so the target can take both. The frozen tree keeps the
     * namespace itself alive.
     */
    public void release(JobNetwork network) throws CommandException {
        ip("-n", network.namespace(), "link", "set", network.interfaceName(), "down");
        ip("netns", "delete", network.namespace());
    }

    /** Source, on rollback: the name back on the frozen job's namespace, the interface up, the route back. */
    public void reclaim(JobNetwork network, long initPid) throws CommandException, IOException {
        Path name = NAMED_NAMESPACES.resolve(network.namespace());
        if (!Files.exists(name)) {
            Files.createFile(name);
            run(List.of("mount", "--bind", "/proc/" + initPid + "/ns/net", name.toString()));
        }
        ip("-n", network.namespace(), "link", "set", network.interfaceName(), "up");
        if (network.gateway() != null) {
            ip("-n", network.namespace(), "route", "replace", "default", "via", network.gateway());
        }
    }

    /**
     * The name a target restores a job's network under, until the job runs there: its own name may
     * still be taken where several nodes share /run/netns (several slurmd on a host), and a rollback
     * must find the source's name free to put back.
     */
    public static String restoringName(String migrationId) {
        return "lifeboat-in-" + migrationId;
    }

    /** The network as the target restores it: the same but for the namespace's name (see {@link #restoringName}). */
    public static JobNetwork restoring(JobNetwork network, String migrationId) {
        return network.named(restoringName(migrationId));
    }

    /**
     * Target, once the restored job runs here: its namespace, restored under {@link #restoringName},
     * takes the job's own name (a bind of the same namespace; the restoring name then goes), so the
     * next move finds it as the job's manifest names it.
     */
    public void nameRestored(JobNetwork network, String migrationId) throws CommandException, IOException {
        Path restoring = NAMED_NAMESPACES.resolve(restoringName(migrationId));
        if (!Files.exists(restoring)) {
            return; // named already (a restarted agent resuming a copy it named before)
        }
        Path name = NAMED_NAMESPACES.resolve(network.namespace());
        if (!Files.exists(name)) {
            Files.createFile(name);
        }
        run(List.of("mount", "--bind", restoring.toString(), name.toString()));
        removeName(restoringName(migrationId));
    }

    /**
     * Target, discarding a restored copy: its interface down first, so that its sockets, killed next,
     * say nothing (no FIN, no RST) to peers that stay connected to the source's copy. Under whichever
     * name it has: the restoring one, or the job's once it ran here.
     */
    public void releaseRestored(JobNetwork network, String migrationId) {
        String name = Files.exists(NAMED_NAMESPACES.resolve(restoringName(migrationId))) ? restoringName(migrationId)
                : network.namespace();
        try {
            release(network.named(name));
        } catch (CommandException e) {
            LOG.warning("cannot take the restored copy's interface in " + name + " down: " + e.getMessage());
            deleteName(name);
        }
    }

    /**
     * Target, before the restore: the same namespace, interface, MAC, addresses and route, on this
     * node's uplink. IPv6 is off before the link comes up, so nothing is sent from the address
     * before the job's sockets exist here.
     */
    public void create(JobNetwork network, String uplink) throws CommandException {
        create(network, uplink, network.mac(), false);
    }

    /**
     * Target, before a restore: the namespace as {@link #create} makes it, but deaf until
     * {@link #reveal}: its interface has a MAC of its own for now and answers no ARP, so nothing
     * reaches the address here before the restored sockets exist (the kernel would answer a
     * segment for a socket not yet restored with a reset, ending the connection at the peer,
     * which may be another part of the same job restored at the same moment). The address and
     * routes are there, so CRIU can restore the connections on it.
     */
    public void createDeaf(JobNetwork network, String uplink, String migrationId) throws CommandException {
        int hash = migrationId.hashCode();
        String deafMac = String.format("02:01:%02x:%02x:%02x:%02x", hash >>> 24 & 0xff, hash >>> 16 & 0xff, hash >>> 8 & 0xff, hash & 0xff);
        create(network, uplink, deafMac, true);
    }

    /** After the restore: the interface takes the job's MAC and answers ARP; what it resolved meanwhile is forgotten. */
    public void reveal(JobNetwork network) throws CommandException {
        ip("-n", network.namespace(), "link", "set", network.interfaceName(), "address", network.mac(), "arp", "on");
        ip("-n", network.namespace(), "neigh", "flush", "dev", network.interfaceName());
    }

    private void create(JobNetwork network, String uplink, String mac, boolean deaf) throws CommandException {
        String namespace = network.namespace();
        String temporaryName = "lbm" + Integer.toHexString(namespace.hashCode() & 0xfffff);
        ip("netns", "add", namespace);
        try {
            run(List.of("nsenter", "--net=" + NAMED_NAMESPACES.resolve(namespace), "--", "sysctl", "-qw",
                    "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"));
            ip("-n", namespace, "link", "set", "lo", "up");
            ip("link", "add", "link", uplink, "name", temporaryName, "address", mac, "type", "macvlan", "mode", "bridge");
            ip("link", "set", temporaryName, "netns", namespace);
            ip("-n", namespace, "link", "set", temporaryName, "name", network.interfaceName());
            for (String address : network.addresses()) {
                ip("-n", namespace, "address", "add", address, "dev", network.interfaceName());
            }
            if (deaf) {
                ip("-n", namespace, "link", "set", network.interfaceName(), "arp", "off");
            }
            ip("-n", namespace, "link", "set", network.interfaceName(), "up");
            if (network.gateway() != null) {
                ip("-n", namespace, "route", "add", "default", "via", network.gateway());
            }
        } catch (CommandException e) {
            delete(network);
            throw e;
        }
    }

    /**
     * Target, after the restore: tell the segment the address now lives behind this node
     * (gratuitous ARP). In the background: arping takes a second, and the job already runs.
     */
    public void announce(JobNetwork network, long restoredPid) {
        announcements.execute(() -> announceNow(network, restoredPid));
    }

    private void announceNow(JobNetwork network, long restoredPid) {
        for (String address : network.addresses()) {
            String ip = address.substring(0, address.indexOf('/'));
            try {
                // Through the restored process, not a name: the namespace is renamed when the job starts here.
                run(List.of("nsenter", "--net=/proc/" + restoredPid + "/ns/net", "--", "arping", "-U", "-c", "1",
                        "-w", "1", "-I", network.interfaceName(), ip));
            } catch (CommandException e) {
                // Neighbours then learn the new port from the job's next packet; nothing is lost.
                LOG.warning("gratuitous ARP for " + ip + " failed: " + e.getMessage());
            }
        }
    }

    /** Removes the namespace's name (and with the last process in it, the namespace and its interface). */
    public void delete(JobNetwork network) {
        deleteName(network.namespace());
    }

    /**
     * Before restoring a container whose network held only loopback (lifeboat-run
     * --network=loopback): a fresh namespace of that kind, named so CRIU can be run inside it, where
     * the restored tree then lives and its TCP connections come back from repair. Once the restore
     * is over, {@link #deleteName} takes the name away again: the restored tree keeps the namespace,
     * as unnamed as lifeboat-run made it, and nothing is left when the job ends.
     *
     * @return the namespace's path, for nsenter
     */
    public Path createLoopback(String namespace) throws CommandException {
        ip("netns", "add", namespace);
        try {
            ip("-n", namespace, "link", "set", "lo", "up");
        } catch (CommandException e) {
            deleteName(namespace);
            throw e;
        }
        return NAMED_NAMESPACES.resolve(namespace);
    }

    /** Removes a namespace's name; the namespace itself lives on while a process is in it. */
    public void deleteName(String namespace) {
        if (Files.exists(NAMED_NAMESPACES.resolve(namespace))) {
            removeName(namespace);
        }
    }

    /** Removes the name of a namespace known to be named (listed just now); a failure is only logged. */
    public void removeName(String namespace) {
        try {
            ip("netns", "delete", namespace);
        } catch (CommandException e) {
            LOG.warning("cannot delete network namespace " + namespace + ": " + e.getMessage());
        }
    }

    /** Whether any process is in the named namespace (on a host with several slurmd, another node's job may be). */
    public boolean hasProcesses(String namespace) throws CommandException {
        return !ip("netns", "pids", namespace).isBlank();
    }

    private String ip(String... arguments) throws CommandException {
        List<String> command = new ArrayList<>();
        command.add("ip");
        command.addAll(List.of(arguments));
        return run(command);
    }

    private String run(List<String> command) throws CommandException {
        return commands.run(command, IP_TIMEOUT).requireSuccess().stdout();
    }
}
