package org.lifeboat.agent.wiring;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.logging.Logger;
import org.lifeboat.agent.config.AgentConfig;
import org.lifeboat.agent.config.EvacuationConfig;
import org.lifeboat.agent.config.PeerConfig;
import org.lifeboat.agent.container.ApptainerInstances;
import org.lifeboat.agent.container.CgroupAdopter;
import org.lifeboat.agent.container.ContainerLocator;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.container.RestoreRoot;
import org.lifeboat.agent.criu.Criu;
import org.lifeboat.agent.criu.CriuReadiness;
import org.lifeboat.agent.evacuation.DrainWatcher;
import org.lifeboat.agent.evacuation.Evacuator;
import org.lifeboat.agent.evacuation.TriggerModes;
import org.lifeboat.agent.health.CheckpointDirectoryCheck;
import org.lifeboat.agent.health.CriuCheck;
import org.lifeboat.agent.health.Dependency;
import org.lifeboat.agent.health.DependencyCheck;
import org.lifeboat.agent.health.DependencyMonitor;
import org.lifeboat.agent.health.MungeCheck;
import org.lifeboat.agent.health.SlurmCheck;
import org.lifeboat.agent.http.AgentHttpServer;
import org.lifeboat.agent.lifecycle.LifeCycleComponent;
import org.lifeboat.agent.lifecycle.LifeCycleManager;
import org.lifeboat.agent.lifecycle.SystemdNotification;
import org.lifeboat.agent.lifecycle.SystemdWatchdog;
import org.lifeboat.agent.metrics.AgentMetrics;
import org.lifeboat.agent.metrics.CriuMetrics;
import org.lifeboat.agent.metrics.DependencyMetrics;
import org.lifeboat.agent.metrics.MigrationMetrics;
import org.lifeboat.agent.metrics.NodeMetrics;
import org.lifeboat.agent.metrics.PredictionMetrics;
import org.lifeboat.agent.migration.CheckpointDirectories;
import org.lifeboat.agent.migration.ConfirmedCopies;
import org.lifeboat.agent.migration.CopyRestorer;
import org.lifeboat.agent.migration.Destinations;
import org.lifeboat.agent.migration.IncomingCleanup;
import org.lifeboat.agent.migration.IncomingMigrationTable;
import org.lifeboat.agent.migration.IncomingMigrations;
import org.lifeboat.agent.migration.InterruptedMigrations;
import org.lifeboat.agent.migration.MigrationDriver;
import org.lifeboat.agent.migration.MigrationException;
import org.lifeboat.agent.migration.MigrationGate;
import org.lifeboat.agent.migration.MigrationHistory;
import org.lifeboat.agent.migration.MigrationObserver;
import org.lifeboat.agent.migration.MigrationReport;
import org.lifeboat.agent.migration.MigrationService;
import org.lifeboat.agent.migration.OrphanTakeOver;
import org.lifeboat.agent.migration.PageServers;
import org.lifeboat.agent.migration.ParkedCheckpoints;
import org.lifeboat.agent.migration.PartRequests;
import org.lifeboat.agent.migration.PostDumpHook;
import org.lifeboat.agent.migration.RestoredCopies;
import org.lifeboat.agent.migration.ResumeMarkers;
import org.lifeboat.agent.migration.SilenceSweep;
import org.lifeboat.agent.migration.SilentMigrationSweeper;
import org.lifeboat.agent.migration.SlurmHandover;
import org.lifeboat.agent.migration.SlurmTargetScheduler;
import org.lifeboat.agent.migration.TargetRecovery;
import org.lifeboat.agent.migration.TargetScheduler;
import org.lifeboat.agent.migration.TransferMode;
import org.lifeboat.agent.migration.WholeJobCheck;
import org.lifeboat.agent.network.JobAddressPool;
import org.lifeboat.agent.network.JobNetworkProvider;
import org.lifeboat.agent.network.JobNetworks;
import org.lifeboat.agent.peer.MungeAuthenticator;
import org.lifeboat.agent.peer.PeerAuthenticator;
import org.lifeboat.agent.peer.PeerClient;
import org.lifeboat.agent.peer.PeerRequestException;
import org.lifeboat.agent.peer.PeerRequestHandler;
import org.lifeboat.agent.peer.PeerServer;
import org.lifeboat.agent.peer.UnauthenticatedPeers;
import org.lifeboat.agent.prediction.SlurmPredictionActions;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.agent.process.CommandRunner;
import org.lifeboat.agent.process.SystemUsers;
import org.lifeboat.agent.process.UnixSocketPeers;
import org.lifeboat.agent.registry.JobRecord;
import org.lifeboat.agent.registry.JobRegistry;
import org.lifeboat.agent.registry.RegistryReconciler;
import org.lifeboat.agent.registry.RegistryStore;
import org.lifeboat.agent.slurm.SlurmClient;
import org.lifeboat.agent.socket.AgentSocketServer;
import org.lifeboat.agent.socket.Authorizer;
import org.lifeboat.agent.socket.JobMigrations;
import org.lifeboat.agent.socket.JobNetworkRequests;
import org.lifeboat.agent.socket.RequestHandler;
import org.lifeboat.agent.storage.AgentDirectories;
import org.lifeboat.predictor.detect.ToolRunner;
import org.lifeboat.predictor.plan.EvacuationPlanner;
import org.lifeboat.predictor.service.PredictorService;

/**
 * The agent's composition root: builds every collaborator once from the configuration, and lists
 * the parts that hold resources in the order they start. The lifecycle then stops them in reverse.
 */
public final class AgentWiring {

    // A control request between agents; a dump of many GiB is a separate, longer wait in the engine.
    private static final Duration PEER_TIMEOUT = Duration.ofMinutes(30);
    private static final Path PROC = Path.of("/proc");
    private static final Logger LOG = Logger.getLogger(AgentWiring.class.getName());
    private static final Path SYS = Path.of("/sys");

    private final LifeCycleManager lifeCycle;
    private final AgentHttpServer httpServer;

    private AgentWiring(LifeCycleManager lifeCycle, AgentHttpServer httpServer) {
        this.lifeCycle = lifeCycle;
        this.httpServer = httpServer;
    }

    /** The agent's parts in start order; nothing runs until {@link LifeCycleManager#start()}. */
    public LifeCycleManager lifeCycle() {
        return lifeCycle;
    }

    /** The health and metrics endpoint, whose bound address the start message names. */
    public AgentHttpServer httpServer() {
        return httpServer;
    }

    /**
     * Builds the agent. Besides building, this checks what a start needs and does not yet change
     * anything a job sees: the directories, the SlurmUser's uid, CRIU (probed once), the migration
     * history, the post-dump script. MUNGE, Slurm and the checkpoint directory are the dependency
     * monitor's: checked as the agent starts (a munged that does not answer is named then, not at the
     * first migration), and again every health.interval.
     *
     * @param commands the one command runner every tool runs through
     * @param environment the agent's environment, for systemd's NOTIFY_SOCKET and WATCHDOG_USEC
     */
    public static AgentWiring build(AgentConfig config, String version, CommandRunner commands, Map<String, String> environment)
            throws IOException, CommandException {
        AgentThreads threads = new AgentThreads(config.evacuation().concurrency());
        try {
            return build(config, version, commands, environment, threads);
        } catch (IOException | CommandException | RuntimeException e) {
            // Not yet in a lifecycle that would stop them.
            threads.stop();
            throw e;
        }
    }

    private static AgentWiring build(AgentConfig config, String version, CommandRunner commands, Map<String, String> environment,
                                     AgentThreads threads) throws IOException, CommandException {
        Clock clock = Clock.systemUTC();
        new AgentDirectories(config.stateDirectory(), config.checkpointDirectory()).prepare();
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new AgentMetrics(version, config.nodeName()).bindTo(meters);
        SystemUsers users = new SystemUsers(commands);
        int slurmUserUid = users.uidOf(config.slurmUser());
        SlurmClient slurm = new SlurmClient(commands);
        JobRegistry registry = new JobRegistry(new RegistryStore(config.stateDirectory()), clock);

        Path helpers = config.apptainer().helperDirectory();
        CriuReadiness criuReadiness = CriuReadiness.probe(config.criuPath(), commands);
        new CriuMetrics(criuReadiness.capabilities()).bindTo(meters);
        MigrationGate gate = new CriuGate(criuReadiness, PROC.resolve("sys/fs/pipe-max-size"));
        Criu criu = new Criu(config.criuPath(), commands, Optional.of(helpers.resolve("lifeboat-with-fds")),
                criuReadiness.networkLock());
        MigrationMetrics migrationMetrics = new MigrationMetrics(meters);
        PredictionMetrics predictionMetrics = new PredictionMetrics(meters);
        MigrationHistory history = MigrationHistory.load(config.stateDirectory(), MigrationHistory.DEFAULT_CAPACITY, clock);
        MigrationObserver recordReport = report -> {
            migrationMetrics.migrationEnded(report);
            history.migrationEnded(report);
        };

        PeerAuthenticator peers = config.peer().authentication().equals(PeerConfig.MUNGE)
                ? new MungeAuthenticator(config.peer().mungeSocket())
                : new UnauthenticatedPeers();
        ContainerProcesses processes = new ContainerProcesses(PROC, commands);
        RestoreRoot restoreRoots = new RestoreRoot(commands);
        JobNetworks networks = new JobNetworks(commands, threads.arpAnnouncements());
        ResumeMarkers resumeMarkers = new ResumeMarkers(config.resumeDirectory().resolve(config.nodeName()), PROC);

        IncomingMigrationTable incomingTable = new IncomingMigrationTable();
        TargetScheduler targetScheduler = new SlurmTargetScheduler(slurm, config.nodeName(), clock);
        ConfirmedCopies confirmedCopies = new ConfirmedCopies(config.checkpointDirectory(), resumeMarkers);
        RestoredCopies restoredCopies = new RestoredCopies(registry, resumeMarkers, processes, networks);
        IncomingCleanup incomingCleanup = new IncomingCleanup(incomingTable, confirmedCopies, restoreRoots, processes,
                networks, resumeMarkers, threads.incomingBackground());
        IncomingMigrations incoming = new IncomingMigrations(incomingTable, config.checkpointDirectory(),
                config.sharedDirectory(), new PageServers(criu),
                new CopyRestorer(criu, restoreRoots, networks, config.uplinkInterface()), processes, restoredCopies,
                confirmedCopies, incomingCleanup, targetScheduler, gate, threads.incomingBackground(), clock);
        TargetRecovery targetRecovery = new TargetRecovery(config.checkpointDirectory(), confirmedCopies, restoredCopies,
                incomingCleanup, processes, networks, resumeMarkers, targetScheduler, threads.incomingBackground());
        SilentMigrationSweeper silentMigrationSweeper = new SilentMigrationSweeper(
                new OrphanTakeOver(incomingTable, restoredCopies, confirmedCopies, incomingCleanup, targetScheduler,
                        migrationMetrics::tookOver, clock),
                new SilenceSweep(incomingTable, incomingCleanup, clock), config.nodeName());
        CheckpointDirectories.prepare(config.checkpointDirectory());
        Path postDumpScript = PostDumpHook.install(MigrationDriver.outgoingDirectory(config.checkpointDirectory()));
        Destinations.PeerConnector peerConnector =
                (node, peer) -> new PeerClient(peer, config.nodeName(), node, peers, PEER_TIMEOUT, config.peer().pageCompression());
        MigrationDriver driver = new MigrationDriver(config.nodeName(), config.checkpointDirectory(), criu, processes,
                postDumpScript, threads.criuDumps(), clock, recordReport);
        Optional<ParkedCheckpoints> parked = config.sharedDirectory().map(shared -> new ParkedCheckpoints(shared,
                config.checkpointDirectory(), criu, restoreRoots, networks));
        Destinations destinations = new Destinations(config.nodeName(), config.checkpointDirectory(), config.sharedDirectory(),
                peerConnector, processes, networks, new SlurmHandover(slurm, clock), parked, clock);
        InterruptedMigrations interrupted = new InterruptedMigrations(config.checkpointDirectory(), config.sharedDirectory(),
                peerConnector, processes);
        migrationMetrics.watchInFlight("source", driver::inFlight);
        migrationMetrics.watchInFlight("target", incomingTable::inFlight);
        ContainerLocator locator = new ContainerLocator(config.containersDirectory(), PROC);
        MigrationService migrations = new MigrationService(config.nodeName(), registry, locator,
                new ApptainerInstances(config.apptainer().path(), helpers.resolve("lifeboat-adopt-instance"), PROC, SYS,
                        commands, users, processes),
                slurm, config.peer().port(), driver, destinations, processes, new CgroupAdopter(PROC), resumeMarkers, parked,
                gate, threads.parkedRestores(), new WholeJobCheck(locator, processes, PROC,
                        config.containersDirectory().resolveSibling("jobs"), config.nodeName(), new UnixSocketPeers(commands)), migrationMetrics::refusedUnmovable);

        TransferMode defaultMode = TransferMode.fromWireName(config.transferMode());
        AgentSocketServer socketServer = new AgentSocketServer(config.socketPath(),
                new RequestHandler(registry, new Authorizer(slurmUserUid), new SocketMigrations(migrations, defaultMode), jobNetworks(config, networks, slurm, clock),
                        history::recent),
                meters, AgentSocketServer.REQUEST_TIMEOUT);
        PeerServer peerServer = new PeerServer(config.nodeName(), new InetSocketAddress(config.peer().address(), config.peer().port()),
                peers, new PeerRequests(incoming, new PartRequests(migrations)));
        EvacuationConfig evacuation = config.evacuation();
        Evacuator evacuator = new Evacuator(migrations, new TriggerModes(TransferMode.fromWireName(config.drainTransferMode()),
                TransferMode.fromWireName(config.predictionTransferMode())), evacuation.retryPause(), threads.evacuations());
        DrainWatcher drainWatcher = new DrainWatcher(config.nodeName(), slurm, evacuator::evacuate,
                evacuation.drainPollInterval(), () -> !migrations.registeredJobs().isEmpty());
        SlurmPredictionActions predictionActions = new SlurmPredictionActions(config.nodeName(), slurm, evacuator,
                EvacuationPlanner.from(config.predictor().planning(), config.evacuation().concurrency()));
        PredictorService predictor = new PredictorService(config.predictor(), config.nodeName(), predictionActions,
                predictionActions, predictionActions, predictionMetrics::record, toolRunner(commands), clock);
        new NodeMetrics(registry::size, drainWatcher::nodeLeaving, () -> predictor.book().evacuating(config.nodeName()))
                .bindTo(meters);
        DependencyMonitor dependencies = dependencyMonitor(config, criuReadiness, peers, slurm, commands);
        new DependencyMetrics(dependencies::report).bindTo(meters);
        AgentHttpServer httpServer = new AgentHttpServer(config.http(), config.nodeName(), version, meters, dependencies::report,
                Map.of(
                "/api/v1/alertmanager", predictor.handlers().alertmanager(),
                "/api/v1/predictions", predictor.handlers().predictions()));

        // The pools first, so they stop last, after everything that gives them work. Recovery next, in the
        // order it always ran, before any server lets a request in: the registry loses the jobs that ended
        // while the agent was away, the target side deals with what it held, then the source side with its
        // interrupted migrations (which may ask other nodes' targets to discard theirs).
        // The dependency checks run their first round just before the HTTP server reports it.
        // The drain watcher starts last but one: a drain seen at start finds every server ready.
        // The watchdog starts once the loops it watches run, and stops before they do; systemd hears
        // READY=1 last, once everything runs.
        SystemdWatchdog watchdog = SystemdWatchdog.fromEnvironment(environment, ProcessHandle.current().pid(),
                List.of(peerServer.acceptLoop(), socketServer.acceptLoop(), drainWatcher.polling()));
        LifeCycleManager lifeCycle = new LifeCycleManager("lifeboat agent", List.of(
                threads,
                new RecoveryStep("registry reconciliation", new RegistryReconciler(registry, slurm, config.nodeName())::reconcile),
                new RecoveryStep("incoming migrations left at the last stop", targetRecovery::recover),
                new RecoveryStep("outgoing migrations interrupted at the last stop", interrupted::recover),
                peerServer, socketServer, dependencies, httpServer, drainWatcher, new PredictorComponent(predictor),
                silentMigrationSweeper, watchdog,
                SystemdNotification.fromEnvironment(environment)));
        return new AgentWiring(lifeCycle, httpServer);
    }

    /** What /health and lifeboat_dependency_ready report: each dependency checked as the agent itself uses it. */
    private static DependencyMonitor dependencyMonitor(AgentConfig config, CriuReadiness criuReadiness, PeerAuthenticator peers,
                                                       SlurmClient slurm, CommandRunner commands) {
        DependencyCheck munge = config.peer().authentication().equals(PeerConfig.MUNGE)
                ? new MungeCheck(peers, config.peer().mungeSocket())
                : DependencyCheck.notUsed("peer.authentication is " + config.peer().authentication());
        return new DependencyMonitor(Map.of(
                Dependency.CRIU, new CriuCheck(criuReadiness, config.criuPath(), commands),
                Dependency.MUNGE, munge,
                Dependency.SLURM, new SlurmCheck(slurm),
                Dependency.CHECKPOINT_DIRECTORY,
                new CheckpointDirectoryCheck(config.checkpointDirectory(), config.health().checkpointMinFreeBytes())),
                config.health().interval());
    }

    /** The predictor's detectors run tools (ipmitool) through the agent's one command runner. */
    private static ToolRunner toolRunner(CommandRunner commands) {
        return (command, timeout) -> {
            try {
                CommandResult result = commands.run(command, timeout);
                return new ToolRunner.ToolOutput(result.exitCode(), result.stdout(), result.stderr());
            } catch (CommandException e) {
                throw new IOException(e.getMessage(), e);
            }
        };
    }

    /** The predictor's threads (detectors, hold-down expiry) as a part of the agent's life cycle. */
    private record PredictorComponent(PredictorService predictor) implements LifeCycleComponent {
        @Override
        public void start() {
            predictor.start();
        }

        @Override
        public void stop() {
            predictor.stop();
        }
    }

    /** Requests from other agents: a move's own to its target, and those of a job's staying parts (see PartRequests). */
    private record PeerRequests(IncomingMigrations incoming, PartRequests parts) implements PeerRequestHandler {
        @Override
        public ObjectNode call(String request, ObjectNode message) throws PeerRequestException {
            return PartRequests.handles(request) ? parts.call(request, message) : incoming.call(request, message);
        }

        @Override
        public ObjectNode receive(String request, ObjectNode message, InputStream body) throws PeerRequestException, IOException {
            return incoming.receive(request, message, body);
        }

        @Override
        public CompletableFuture<SocketChannel> pipe(String request, ObjectNode message) throws PeerRequestException {
            return incoming.pipe(request, message);
        }
    }

    /**
     * Networks for jobs that ask for their own, if the site gave this node addresses. Leases and names
     * left by jobs that ended while the agent was away are given back now; Slurm may not answer yet at
     * boot, so that is only logged: the next lease asks Slurm again.
     */
    private static JobNetworkRequests jobNetworks(AgentConfig config, JobNetworks networks, SlurmClient slurm, Clock clock) {
        if (!config.jobNetwork().enabled()) {
            return JobNetworkRequests.NONE;
        }
        JobAddressPool.LiveJobs liveJobs = () -> {
            try {
                return slurm.jobsNotOver();
            } catch (CommandException e) {
                throw new IOException("Slurm cannot say which jobs are over: " + e.getMessage(), e);
            }
        };
        JobNetworkProvider provider = new JobNetworkProvider(networks,
                new JobAddressPool(config.jobNetwork(), config.stateDirectory().resolve("job-addresses"), liveJobs, clock),
                config.jobNetwork(), config.nodeName(), config.uplinkInterface(), JobNetworks.NAMED_NAMESPACES, liveJobs);
        try {
            provider.reclaim();
        } catch (IOException e) {
            LOG.warning("job networks of ended jobs not reclaimed at start: " + e.getMessage());
        }
        return new JobNetworkRequests() {
            @Override
            public boolean available() {
                return true;
            }

            @Override
            public String provide(long job) throws IOException {
                return provider.provide(job);
            }

            @Override
            public void jobEnded(long job) {
                provider.jobEnded(job);
            }
        };
    }

    /** The socket's view of the migration service: the agent's default mode fills in for requests naming none. */
    private record SocketMigrations(MigrationService migrations, TransferMode defaultMode) implements JobMigrations {
        @Override
        public MigrationReport migrate(long job, String targetNode, TransferMode mode) throws MigrationException {
            return migrations.migrate(job, targetNode, mode == null ? defaultMode : mode);
        }

        @Override
        public void stepStarted(JobRecord job, String step) {
            migrations.stepStarted(job, step);
        }

        @Override
        public void taskStarted(JobRecord job, String step, long taskPid) {
            migrations.taskStarted(job, step, taskPid);
        }

        @Override
        public void jobEnded(long job) {
            migrations.jobEnded(job);
        }

        @Override
        public Optional<String> whyNotMovable(long job) {
            return migrations.whyNotMovable(job);
        }

        @Override
        public boolean livesOnAfterItsEnd(long job) {
            return migrations.livesOnAfterItsEnd(job);
        }
    }
}
