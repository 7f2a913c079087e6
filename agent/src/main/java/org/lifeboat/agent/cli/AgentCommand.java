package org.lifeboat.agent.cli;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.logging.Logger;
import org.lifeboat.agent.config.AgentConfig;
import org.lifeboat.agent.config.AgentConfigLoader;
import org.lifeboat.agent.config.EvacuationConfig;
import org.lifeboat.agent.config.InvalidConfigurationException;
import org.lifeboat.agent.config.PeerConfig;
import org.lifeboat.agent.container.CgroupAdopter;
import org.lifeboat.agent.container.ApptainerInstances;
import org.lifeboat.agent.container.ContainerLocator;
import org.lifeboat.agent.container.ContainerProcesses;
import org.lifeboat.agent.container.RestoreRoot;
import org.lifeboat.agent.criu.Criu;
import org.lifeboat.agent.criu.CriuCapabilities;
import org.lifeboat.agent.criu.CriuException;
import org.lifeboat.agent.evacuation.DrainWatcher;
import org.lifeboat.agent.evacuation.Evacuator;
import org.lifeboat.agent.http.AgentHttpServer;
import org.lifeboat.agent.lifecycle.LifeCycleComponent;
import org.lifeboat.agent.lifecycle.LifeCycleManager;
import org.lifeboat.agent.lifecycle.SystemdNotification;
import org.lifeboat.agent.metrics.AgentMetrics;
import org.lifeboat.agent.metrics.CriuMetrics;
import org.lifeboat.agent.metrics.MigrationMetrics;
import org.lifeboat.agent.metrics.PredictionMetrics;
import org.lifeboat.agent.migration.IncomingMigrations;
import org.lifeboat.agent.migration.MigrationException;
import org.lifeboat.agent.migration.MigrationHistory;
import org.lifeboat.agent.migration.MigrationObserver;
import org.lifeboat.agent.migration.MigrationReport;
import org.lifeboat.agent.migration.MigrationService;
import org.lifeboat.agent.migration.Migrator;
import org.lifeboat.agent.migration.Parker;
import org.lifeboat.agent.migration.PostDumpHook;
import org.lifeboat.agent.migration.ResumeMarkers;
import org.lifeboat.agent.migration.SilentMigrationSweeper;
import org.lifeboat.agent.migration.SlurmHandover;
import org.lifeboat.agent.migration.SlurmTargetScheduler;
import org.lifeboat.agent.migration.TransferMode;
import org.lifeboat.agent.network.JobNetworks;
import org.lifeboat.agent.peer.MungeAuthenticator;
import org.lifeboat.agent.peer.PeerAuthenticationException;
import org.lifeboat.agent.peer.PeerAuthenticator;
import org.lifeboat.agent.peer.PeerClient;
import org.lifeboat.agent.peer.PeerServer;
import org.lifeboat.agent.peer.UnauthenticatedPeers;
import org.lifeboat.agent.prediction.SlurmPredictionActions;
import org.lifeboat.agent.process.CommandException;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.agent.process.CommandRunner;
import org.lifeboat.agent.process.ProcessCommandRunner;
import org.lifeboat.agent.process.SystemUsers;
import org.lifeboat.agent.registry.JobRecord;
import org.lifeboat.agent.registry.JobRegistry;
import org.lifeboat.agent.registry.RegistryReconciler;
import org.lifeboat.agent.registry.RegistryStore;
import org.lifeboat.agent.slurm.SlurmClient;
import org.lifeboat.agent.socket.AgentSocketServer;
import org.lifeboat.agent.socket.Authorizer;
import org.lifeboat.agent.socket.JobMigrations;
import org.lifeboat.agent.socket.RequestHandler;
import org.lifeboat.agent.storage.AgentDirectories;
import org.lifeboat.predictor.detect.ToolRunner;
import org.lifeboat.predictor.plan.EvacuationPlanner;
import org.lifeboat.predictor.service.PredictorService;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/** {@code lifeboat agent}: runs the node agent until the JVM is told to shut down. */
@Command(
        name = "agent",
        mixinStandardHelpOptions = true,
        description = "Runs the Lifeboat node agent until it receives SIGTERM.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:stopped cleanly",
            "1:failed to start or failed while running",
            "2:invalid command line",
            "3:invalid configuration file",
            "143:stopped by SIGTERM"
        })
final class AgentCommand implements Callable<Integer> {

    static final int EXIT_STARTUP_FAILURE = 1;
    static final int EXIT_INVALID_CONFIGURATION = 3;

    // A control request between agents; a dump of many GiB is a separate, longer wait in the engine.
    private static final Duration PEER_TIMEOUT = Duration.ofMinutes(30);
    private static final Logger LOG = Logger.getLogger(AgentCommand.class.getName());

    private final AgentConfigLoader configLoader;
    private final String version;

    @Spec
    private CommandSpec spec;

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "YAML configuration file.")
    private Path configFile;

    AgentCommand(AgentConfigLoader configLoader, String version) {
        this.configLoader = Objects.requireNonNull(configLoader, "configLoader");
        this.version = Objects.requireNonNull(version, "version");
    }

    @Override
    public Integer call() throws InterruptedException {
        AgentConfig config;
        try {
            config = configLoader.load(configFile);
        } catch (InvalidConfigurationException e) {
            spec.commandLine().getErr().println(e.getMessage());
            return EXIT_INVALID_CONFIGURATION;
        }

        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new AgentMetrics(version, config.nodeName()).bindTo(meters);
        CommandRunner commands = new ProcessCommandRunner();
        LifeCycleManager lifeCycle;
        AgentHttpServer httpServer;
        try {
            new AgentDirectories(config.stateDirectory(), config.checkpointDirectory()).prepare();
            int slurmUserUid = new SystemUsers(commands).uidOf(config.slurmUser());
            JobRegistry registry = new JobRegistry(new RegistryStore(config.stateDirectory()), Clock.systemUTC());
            new RegistryReconciler(registry, new SlurmClient(commands), config.nodeName()).reconcile();
            Gauge.builder("lifeboat_registered_jobs", registry, JobRegistry::size)
                    .description("Migratable jobs registered on this node")
                    .register(meters);
            Path helpers = config.apptainer().helperDirectory();
            Criu criu = new Criu(config.criuPath(), commands, Optional.of(helpers.resolve("lifeboat-with-fds")));
            new CriuMetrics(reportCriu(criu)).bindTo(meters);
            MigrationMetrics migrationMetrics = new MigrationMetrics(meters);
            PredictionMetrics predictionMetrics = new PredictionMetrics(meters);
            MigrationHistory history = MigrationHistory.load(config.stateDirectory(), MigrationHistory.DEFAULT_CAPACITY,
                    Clock.systemUTC());
            ContainerProcesses processes = new ContainerProcesses(Path.of("/proc"), commands);
            PeerAuthenticator peers = config.peer().authentication().equals(PeerConfig.MUNGE)
                    ? new MungeAuthenticator(config.peer().mungeSocket())
                    : new UnauthenticatedPeers();
            checkPeerAuthentication(peers, config.peer().mungeSocket());
            JobNetworks networks = new JobNetworks(commands);
            SlurmClient slurm = new SlurmClient(commands);
            ResumeMarkers resumeMarkers = new ResumeMarkers(config.resumeDirectory().resolve(config.nodeName()), Path.of("/proc"));
            IncomingMigrations incoming = new IncomingMigrations(config.checkpointDirectory(), config.sharedDirectory(), criu,
                    new RestoreRoot(commands), processes, registry, networks, config.uplinkInterface(), resumeMarkers,
                    new SlurmTargetScheduler(slurm, config.nodeName(), Clock.systemUTC()), migrationMetrics::tookOver, Clock.systemUTC());
            incoming.discardStale();
            MigrationObserver recordReport = report -> {
                migrationMetrics.migrationEnded(report);
                history.migrationEnded(report);
            };
            Path postDumpScript = PostDumpHook.install(config.stateDirectory(),
                    Migrator.outgoingDirectory(config.checkpointDirectory()));
            RestoreRoot restoreRoots = new RestoreRoot(commands);
            Migrator migrator = new Migrator(config.nodeName(), config.checkpointDirectory(), config.sharedDirectory(), criu,
                    processes, (node, peer) -> new PeerClient(peer, config.nodeName(), node, peers, PEER_TIMEOUT,
                            config.peer().pageCompression()), networks, postDumpScript,
                    new SlurmHandover(slurm, Clock.systemUTC()), Clock.systemUTC(), recordReport);
            Optional<Parker> parker = config.sharedDirectory().map(shared -> new Parker(config.nodeName(), shared,
                    config.checkpointDirectory(), criu, processes, restoreRoots, slurm, postDumpScript, Clock.systemUTC(),
                    recordReport));
            migrator.recoverInterrupted();
            migrationMetrics.watchInFlight("source", migrator::inFlight);
            migrationMetrics.watchInFlight("target", incoming::inFlight);
            MigrationService migrations = new MigrationService(config.nodeName(), registry,
                    new ContainerLocator(config.containersDirectory(), Path.of("/proc")),
                    new ApptainerInstances(config.apptainer().path(), helpers.resolve("lifeboat-adopt-instance"), Path.of("/proc"),
                            Path.of("/sys"), commands, new SystemUsers(commands), processes), slurm,
                    config.peer().port(), migrator, processes, new CgroupAdopter(Path.of("/proc")), resumeMarkers, parker);
            TransferMode defaultMode = TransferMode.fromWireName(config.transferMode());
            AgentSocketServer socketServer = new AgentSocketServer(config.socketPath(),
                    new RequestHandler(registry, new Authorizer(slurmUserUid), new SocketMigrations(migrations, defaultMode),
                            history::recent),
                    meters, AgentSocketServer.REQUEST_TIMEOUT);
            PeerServer peerServer = new PeerServer(config.nodeName(), new InetSocketAddress(config.peer().address(), config.peer().port()),
                    peers, incoming);
            EvacuationConfig evacuation = config.evacuation();
            Evacuator evacuator = new Evacuator(migrations, defaultMode, evacuation.concurrency(), evacuation.retryPause());
            DrainWatcher drainWatcher = new DrainWatcher(config.nodeName(), slurm, evacuator::evacuate,
                    evacuation.drainPollInterval());
            SlurmPredictionActions predictionActions = new SlurmPredictionActions(config.nodeName(), slurm, evacuator,
                    EvacuationPlanner.from(config.predictor().planning()));
            PredictorService predictor = new PredictorService(config.predictor(), config.nodeName(), predictionActions,
                    predictionActions, predictionActions, predictionMetrics::record, toolRunner(commands), Clock.systemUTC());
            httpServer = new AgentHttpServer(config.http(), config.nodeName(), version, meters, Map.of(
                    "/api/v1/alertmanager", predictor.handlers().alertmanager(),
                    "/api/v1/predictions", predictor.handlers().predictions()));
            // The drain watcher starts last but one: a drain seen at start finds every server ready.
            // systemd hears READY=1 last, once everything runs.
            lifeCycle = new LifeCycleManager("lifeboat agent", List.of(peerServer, socketServer, httpServer, drainWatcher,
                    new PredictorComponent(predictor), new SilentMigrationSweeper(incoming, config.nodeName()),
                    SystemdNotification.fromEnvironment(System.getenv())));
            lifeCycle.start();
        } catch (IOException | CommandException e) {
            spec.commandLine().getErr().println("lifeboat agent failed to start: " + e.getMessage());
            return EXIT_STARTUP_FAILURE;
        }
        lifeCycle.stopOnShutdown();
        LOG.info("lifeboat agent " + version + " started on node " + config.nodeName()
                + ", socket " + config.socketPath() + ", http on " + hostAndPort(httpServer.boundAddress()));
        lifeCycle.awaitStop();
        return CommandLine.ExitCode.OK;
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

    /** The predictor's detectors run tools (ipmitool) through the agent's one command runner. */
    /**
     * Makes one credential at start: a munged that does not answer is named now, not at the first
     * migration, and that migration does not pay for binding libmunge either.
     */
    private static void checkPeerAuthentication(PeerAuthenticator peers, Path mungeSocket) {
        try {
            peers.seal("lifeboat agent start".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        } catch (PeerAuthenticationException e) {
            LOG.severe("peer authentication does not work (" + e.getMessage() + "): migrations from and to this node"
                    + " will fail until munged answers on " + mungeSocket);
        }
    }

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
    }

    /** CRIU's version and features, logged once: what migrations may use and what they fall back from. */
    private static Optional<CriuCapabilities> reportCriu(Criu criu) {
        try {
            CriuCapabilities capabilities = criu.probe();
            LOG.info("CRIU " + capabilities.version() + ", criu check " + (capabilities.checkPassed() ? "passed" : "FAILED")
                    + ", features " + capabilities.features());
            if (!capabilities.checkPassed()) {
                LOG.severe("criu check failed on this node: migrations from and to it will fail");
            }
            return Optional.of(capabilities);
        } catch (CriuException e) {
            LOG.severe("no usable CRIU, migrations from and to this node will fail: " + e.getMessage());
            return Optional.empty();
        }
    }

    private static String hostAndPort(InetSocketAddress address) {
        String host = address.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort();
    }
}
