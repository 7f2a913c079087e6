package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.logging.Level;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.lifeboat.agent.container.ContainerManifest;
import org.lifeboat.agent.container.RestoreRoot;
import org.lifeboat.agent.network.JobNetworks;
import org.lifeboat.agent.peer.CapturedLogs;
import org.lifeboat.agent.peer.PageCompression;
import org.lifeboat.agent.peer.PeerClient;
import org.lifeboat.agent.peer.UnauthenticatedPeers;
import org.lifeboat.agent.process.FakeCommandRunner;

/**
 * The one phase walk, without root or a cluster: CRIU is scripted (it runs the agent's real
 * post-dump script), the target and Slurm are fakes. A live move and a park walk every phase; a
 * failure in each phase before the point of no return leaves the job running where it was, with
 * nothing left behind; past it, the source copy goes whatever fails.
 */
@Timeout(30)
class MigrationDriverTest {

    private static final long JOB = 7;
    // The job's owner: this test's own user, whom it may give directories to without root; 1000 under root.
    private static final int OWNER = FakeNode.ownerUid();
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-06T12:00:00Z"), ZoneOffset.UTC);

    @TempDir
    Path directory;

    private final List<MigrationReport> observed = new ArrayList<>();
    private final ExecutorService criuRuns = Executors.newCachedThreadPool();
    private FakeNode node;
    private ScriptedCriu criu;
    private Path checkpoints;
    private MigrationDriver driver;

    /** The job stays whole throughout (the guard's own test is WholeJobCheckTest). */
    private static final MigrationDriver.WholeJobGuard WHOLE = () -> { };

    @BeforeEach
    void createNode() throws IOException {
        node = new FakeNode(directory.resolve("proc"), 1024);
        criu = new ScriptedCriu(node);
        checkpoints = Files.createDirectories(directory.resolve("checkpoints"));
        CheckpointDirectories.prepare(checkpoints);
        Path postDumpScript = PostDumpHook.install(MigrationDriver.outgoingDirectory(checkpoints));
        driver = new MigrationDriver("node1", checkpoints, criu, node.processes(), postDumpScript, criuRuns, CLOCK, observed::add);
    }

    @AfterEach
    void stopCriuRuns() {
        criuRuns.shutdownNow();
    }

    @Test
    void aLiveMoveWalksEveryPhaseAndTheJobRunsOnlyOnTheTarget() throws Exception {
        FakeTargetAgent target = new FakeTargetAgent();
        RecordingHandover slurm = new RecordingHandover();

        MigrationReport report = driver.move("job7-a1", JOB, container(), live("job7-a1", target, slurm), WHOLE);

        assertEquals(Outcome.MIGRATED, report.outcome(), report.cause());
        assertEquals(List.of("prepare-target", "dump", "send-images", "restore", "confirm", "requeue", "resume", "place",
                "cleanup"), List.copyOf(report.phaseMillis().keySet()));
        assertEquals(List.of("prepare", "pages", "images", "restore", "confirm", "resume", "commit"), target.requests());
        assertEquals(List.of("requeue 7", "place 7 node1->node2"), slurm.steps());
        assertEquals("Z", node.state(), "the source copy is killed once the target runs the job");
        assertEquals(List.of("dump job7-a1 page-server"), criu.calls());
        assertNull(report.reason());
        assertEquals(1_048_576, report.pageBytes());
        assertEquals(524_288, report.pageWireBytes());
        assertEquals(10_240, report.imageBytes());
        assertEquals(120, report.criuRestoreMillis());
        assertEquals("ab".repeat(32), target.restoredFrom(), "the restore names the tar the target confirmed");
        assertEquals(OWNER, target.prepared().uid());
        assertTrue(target.prepared().pageServer(), "a diskless job without its own network sends its memory by the page stream");
        assertEquals(1024L * 1024 + CriuSpecs.IMAGE_OVERHEAD_BYTES, target.prepared().expectedBytes());
        assertNothingLeftOnTheSource();
        assertEquals(List.of(report), observed);
        assertEquals(0, driver.inFlight());
    }

    /** Each failure before the requeue, where it happens, and what the report must say of it. */
    static Stream<Arguments> failuresBeforeThePointOfNoReturn() {
        return Stream.of(
                Arguments.of("prepare", List.of("prepare-target", "rollback"), FailureReason.PREPARE_FAILED,
                        List.of("prepare")),
                Arguments.of("pages", List.of("prepare-target", "rollback"), FailureReason.PREPARE_FAILED,
                        List.of("prepare", "pages", "abort")),
                Arguments.of("criu-dump", List.of("prepare-target", "dump", "rollback"), FailureReason.DUMP_FAILED,
                        List.of("prepare", "pages", "abort")),
                Arguments.of("images", List.of("prepare-target", "dump", "send-images", "rollback"), FailureReason.TRANSFER_FAILED,
                        List.of("prepare", "pages", "images", "abort")),
                Arguments.of("restore", List.of("prepare-target", "dump", "send-images", "restore", "rollback"),
                        FailureReason.RESTORE_FAILED, List.of("prepare", "pages", "images", "restore", "abort")),
                Arguments.of("confirm", List.of("prepare-target", "dump", "send-images", "restore", "confirm", "rollback"),
                        FailureReason.RESTORE_FAILED, List.of("prepare", "pages", "images", "restore", "confirm", "abort")),
                Arguments.of("requeue", List.of("prepare-target", "dump", "send-images", "restore", "confirm", "requeue",
                        "rollback"), FailureReason.REQUEUE_FAILED,
                        List.of("prepare", "pages", "images", "restore", "confirm", "abort")));
    }

    @ParameterizedTest(name = "a failure of {0}")
    @MethodSource("failuresBeforeThePointOfNoReturn")
    void aFailureBeforeTheRequeueResumesTheJobWhereItWasAndTheTargetDiscardsItsPart(String failing, List<String> phases,
                                                                                   FailureReason reason,
                                                                                   List<String> targetRequests) throws Exception {
        FakeTargetAgent target = new FakeTargetAgent().failing(failing);
        RecordingHandover slurm = new RecordingHandover().failing(failing);
        if (failing.equals("criu-dump")) {
            criu.failDump("Can't dump the tree");
        }

        MigrationReport report = driver.move("job7-a1", JOB, container(), live("job7-a1", target, slurm), WHOLE);

        assertEquals(Outcome.ROLLED_BACK, report.outcome());
        assertEquals(reason, report.reason(), report.cause());
        assertEquals(phases, List.copyOf(report.phaseMillis().keySet()));
        assertEquals(targetRequests, target.requests());
        assertEquals(failing.equals("requeue") ? List.of("requeue 7") : List.of(), slurm.steps(),
                "Slurm hears of a move only at its requeue, and nothing after a failed one");
        assertEquals("S", node.state(), "the job runs on where it was");
        assertEquals(0, report.downtimeMillis());
        assertNothingLeftOnTheSource();
        assertEquals(List.of(report), observed);
    }

    @Test
    void aStepThatStartedDuringTheDumpRollsTheMoveBackBeforeTheRequeue() throws Exception {
        FakeTargetAgent target = new FakeTargetAgent();
        RecordingHandover slurm = new RecordingHandover();

        MigrationReport report = driver.move("job7-a1", JOB, container(), live("job7-a1", target, slurm), () -> {
            throw new MigrationException(MigrationException.Reason.UNMOVABLE,
                    "job 7: task 0 of step 1 (pid 900) runs process 900 (python3) outside any container");
        });

        assertEquals(Outcome.ROLLED_BACK, report.outcome());
        assertTrue(report.cause().contains("outside any container"), report.cause());
        assertEquals(List.of(), slurm.steps(), "Slurm never hears of it: the job is not requeued");
        assertEquals("S", node.state(), "the job runs on where it was");
        assertTrue(target.requests().contains("abort"), target.requests()::toString);
        assertNothingLeftOnTheSource();
    }

    @Test
    void pastThePointOfNoReturnAFailedResumeStillKillsTheSourceCopy() throws Exception {
        FakeTargetAgent target = new FakeTargetAgent().failing("resume");

        MigrationReport report = driver.move("job7-a1", JOB, container(), live("job7-a1", target, new RecordingHandover()), WHOLE);

        assertEquals(Outcome.CLEANUP_FAILED, report.outcome());
        assertTrue(report.cause().startsWith("resume on node2: "), report.cause());
        assertEquals(FailureReason.PLACE_FAILED, report.reason());
        assertEquals("Z", node.state(), "never two copies of one job: the source copy goes whatever the target says");
        assertFalse(target.requests().contains("abort"), "past the requeue the target's copy is the job");
        assertNothingLeftOnTheSource();
    }

    @Test
    void aPostCopyMoveRunsTheJobOnTheTargetThenWaitsForEveryPageBeforeCleaningUp() throws Exception {
        FakeTargetAgent target = new FakeTargetAgent();
        RecordingHandover slurm = new RecordingHandover();

        MigrationReport report = driver.move("job7-a1", JOB, container(),
                live("job7-a1", target, slurm, TransferMode.POST_COPY), WHOLE);

        assertEquals(Outcome.MIGRATED, report.outcome(), report.cause());
        assertEquals(TransferMode.POST_COPY, report.mode());
        assertEquals(List.of("prepare-target", "dump", "send-images", "restore", "confirm", "requeue", "resume", "place",
                "fetch-pages", "cleanup"), List.copyOf(report.phaseMillis().keySet()));
        assertEquals(List.of("prepare", "pages", "images", "restore", "confirm", "resume", "pages-arrived", "commit"),
                target.requests());
        assertFalse(target.prepared().pageServer(), "a post-copy target starts a lazy-pages daemon with its restore instead");
        assertEquals(List.of("dump job7-a1 page-server", "serve lazy pages"), criu.calls(),
                "CRIU serves the memory only once its post-dump script has ended, so the script ends at once");
        assertEquals("Z", node.state(), "the source copy is killed once the target runs the job");
        assertEquals(1_048_576, report.pageBytes(), "the memory crossed the relay after the resume");
        assertTrue(report.splitMillis() >= 0);
        assertNothingLeftOnTheSource();
    }

    @Test
    void aPostCopyMoveWhoseMemoryWentInTheImagesSaysSo() throws Exception {
        List<String> warnings;
        try (CapturedLogs logs = new CapturedLogs(LiveDestination.class.getName())) {
            driver.move("job7-a1", JOB, container(), live("job7-a1", new FakeTargetAgent().imageBytes(1_000_000),
                    new RecordingHandover(), TransferMode.POST_COPY), WHOLE);
            node.setState("S"); // the same job again, running, its memory left out of its images this time
            MigrationReport lazy = driver.move("job7-a2", JOB, container(), live("job7-a2", new FakeTargetAgent(),
                    new RecordingHandover(), TransferMode.POST_COPY), WHOLE);
            assertEquals(Outcome.MIGRATED, lazy.outcome(), lazy.cause());
            warnings = logs.messages(Level.WARNING);
        }

        assertEquals(1, warnings.stream().filter(warning -> warning.contains("not post-copy")).count(), warnings::toString);
        assertTrue(warnings.get(0).contains("job7-a1"), warnings::toString);
    }

    @Test
    void postCopyKeepsTheSourceCopyStoppedUntilTheDecisionAndARollbackResumesIt() throws Exception {
        FakeTargetAgent target = new FakeTargetAgent().failing("restore");
        criu.duringDump(() -> assertEquals("T", node.state()));

        MigrationReport report = driver.move("job7-a1", JOB, container(),
                live("job7-a1", target, new RecordingHandover(), TransferMode.POST_COPY), WHOLE);

        assertEquals(Outcome.ROLLED_BACK, report.outcome());
        assertEquals(FailureReason.RESTORE_FAILED, report.reason());
        assertTrue(node.commands().contains(List.of("kill", "-STOP", Long.toString(FakeNode.INIT_PID))),
                () -> "the tree was not stopped before CRIU let it go: " + node.commands());
        assertEquals("S", node.state(), "the agent resumes the tree CRIU gave back stopped");
        assertTrue(target.requests().contains("abort"));
        assertNothingLeftOnTheSource();
    }

    @Test
    void postCopyMemoryThatDoesNotAllArriveLosesTheJobAndSaysSo() throws Exception {
        FakeTargetAgent target = new FakeTargetAgent().failing("pages-arrived");

        MigrationReport report = driver.move("job7-a1", JOB, container(),
                live("job7-a1", target, new RecordingHandover(), TransferMode.POST_COPY), WHOLE);

        assertEquals(Outcome.LOST, report.outcome());
        assertEquals(FailureReason.PAGES_LOST, report.reason());
        assertTrue(report.cause().startsWith("post-copy: "), report.cause());
        assertEquals("Z", node.state(), "the source copy is gone: past the requeue it must never run again");
        assertFalse(target.requests().contains("abort"), "past the requeue the target's copy was the job");
    }

    @Test
    void aParkWalksDumpRequeueAndCleanupAndKeepsTheCheckpoint() throws Exception {
        RecordingHandover slurm = new RecordingHandover();
        ParkedCheckpoints parked = parkedCheckpoints();

        MigrationReport report = driver.move("job7-park-a1", JOB, container(), parked(parked, slurm), WHOLE);

        assertEquals(Outcome.PARKED, report.outcome(), report.cause());
        assertEquals(List.of("dump", "requeue", "cleanup"), List.copyOf(report.phaseMillis().keySet()));
        assertEquals(List.of("requeue 7", "release 7 away from node1"), slurm.steps());
        assertEquals("Z", node.state());
        ParkedCheckpoints.ParkedJob record = parked.find(JOB).orElseThrow();
        assertEquals(OWNER, record.uid());
        assertEquals("node1", record.from());
        assertTrue(Files.exists(parked.directory(JOB).resolve("inventory.img")), "the checkpoint is the job's only copy now");
        assertEquals(TransferMode.SHARED_FS, report.mode());
        assertNothingLeftOnTheSource();
    }

    @ParameterizedTest(name = "a failure of {0}")
    @MethodSource("parkFailures")
    void aParkThatFailsBeforeTheRequeueResumesTheJobAndLeavesNoCheckpoint(String failing, List<String> phases,
                                                                         FailureReason reason) throws Exception {
        RecordingHandover slurm = new RecordingHandover().failing(failing);
        if (failing.equals("criu-dump")) {
            criu.failDump("Can't dump the tree");
        }
        ParkedCheckpoints parked = parkedCheckpoints();

        MigrationReport report = driver.move("job7-park-a1", JOB, container(), parked(parked, slurm), WHOLE);

        assertEquals(Outcome.ROLLED_BACK, report.outcome());
        assertEquals(phases, List.copyOf(report.phaseMillis().keySet()));
        assertEquals(reason, report.reason());
        assertEquals("S", node.state());
        assertTrue(parked.find(JOB).isEmpty());
        assertFalse(Files.exists(parked.directory(JOB)), "a checkpoint of a job that runs on would be restored twice");
        assertNothingLeftOnTheSource();
    }

    static Stream<Arguments> parkFailures() {
        return Stream.of(
                Arguments.of("criu-dump", List.of("dump", "rollback"), FailureReason.DUMP_FAILED),
                Arguments.of("requeue", List.of("dump", "requeue", "rollback"), FailureReason.REQUEUE_FAILED));
    }

    @Test
    void aTargetThatRefusesConnectionsRollsBackAsUnreachable() throws Exception {
        int closedPort = freePort();

        MigrationReport report = driver.move("job7-a1", JOB, container(), live("job7-a1", peer(closedPort, Duration.ofSeconds(5)),
                new RecordingHandover()), WHOLE);

        assertEquals(Outcome.ROLLED_BACK, report.outcome());
        assertEquals(FailureReason.TARGET_UNREACHABLE, report.reason());
        assertTrue(report.cause().startsWith("cannot connect to the agent at 127.0.0.1:" + closedPort), report.cause());
        assertEquals(List.of("prepare-target", "rollback"), List.copyOf(report.phaseMillis().keySet()));
        assertNull(report.criuDump(), "nothing was dumped");
        assertEquals(List.of(), criu.calls());
    }

    @Test
    void aTargetThatNeverRepliesRollsBackAsATimeout() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            MigrationReport report = driver.move("job7-a1", JOB, container(), live("job7-a1",
                    peer(silent.getLocalPort(), Duration.ofMillis(500)), new RecordingHandover()), WHOLE);

            assertEquals(Outcome.ROLLED_BACK, report.outcome());
            assertEquals(FailureReason.TIMEOUT, report.reason(), report.cause());
        }
    }

    @Test
    void aFailingObserverDoesNotChangeTheOutcome() throws Exception {
        MigrationDriver failingObserver = new MigrationDriver("node1", checkpoints, criu, node.processes(),
                PostDumpHook.install(MigrationDriver.outgoingDirectory(checkpoints)), criuRuns, CLOCK,
                report -> {
                    throw new IllegalStateException("metrics broke");
                });

        MigrationReport report = failingObserver.move("job7-a1", JOB, container(),
                live("job7-a1", new FakeTargetAgent(), new RecordingHandover()), WHOLE);

        assertEquals(Outcome.MIGRATED, report.outcome());
        assertEquals(0, failingObserver.inFlight());
    }

    private static TargetAgent peer(int port, Duration timeout) {
        return new PeerTargetAgent(new PeerClient(new InetSocketAddress("127.0.0.1", port), "node1", "node2",
                new UnauthenticatedPeers(), timeout, PageCompression.LZ4), new MigrationRequest("job7-a1", JOB));
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private Destination live(String migrationId, TargetAgent target, RecordingHandover slurm) {
        return live(migrationId, target, slurm, TransferMode.DISKLESS);
    }

    private Destination live(String migrationId, TargetAgent target, RecordingHandover slurm, TransferMode mode) {
        return new LiveDestination(migrationId, JOB, container(), "node1", "node2", new InetSocketAddress("127.0.0.1", 9465),
                mode, CheckpointDirectories.dumps(checkpoints).resolve(migrationId), target,
                node.processes(), new JobNetworks(new FakeCommandRunner(), Runnable::run), slurm);
    }

    private ParkedCheckpoints parkedCheckpoints() throws IOException {
        return new ParkedCheckpoints(Files.createDirectories(directory.resolve("shared")), checkpoints, criu,
                new RestoreRoot(new FakeCommandRunner()), new JobNetworks(new FakeCommandRunner(), Runnable::run));
    }

    private Destination parked(ParkedCheckpoints parked, RecordingHandover slurm) {
        return new ParkedDestination(JOB, OWNER, OWNER, container(), "node1", parked, node.processes(), slurm, CLOCK);
    }

    /** Only the post-dump script is left in the outgoing directory, and nothing among the dumps. */
    private void assertNothingLeftOnTheSource() throws IOException {
        try (Stream<Path> left = Files.list(MigrationDriver.outgoingDirectory(checkpoints))) {
            assertEquals(List.of(PostDumpHook.SCRIPT_NAME), left.map(path -> path.getFileName().toString()).toList(),
                    "control directories left on the source");
        }
        try (Stream<Path> left = Files.list(CheckpointDirectories.dumps(checkpoints))) {
            assertEquals(List.of(), left.toList(), "images left on the source");
        }
    }

    @Test
    void theOwnersCriuWritesImagesOnlyWhereOnlyTheOwnerAndRootCanGoAndReadsDecisionsItCannotMake() throws Exception {
        FakeTargetAgent target = new FakeTargetAgent().failing("confirm");
        Path images = CheckpointDirectories.dumps(checkpoints).resolve("job7-a1");
        Path control = MigrationDriver.outgoingDirectory(checkpoints).resolve("job7-a1");
        List<String> seen = new ArrayList<>();
        criu.duringDump(() -> {
            seen.add(mode(checkpoints) + " " + mode(CheckpointDirectories.dumps(checkpoints)) + " " + mode(images) + " "
                    + Files.getAttribute(images, "unix:uid") + " " + mode(control) + " " + Files.getAttribute(control, "unix:uid")
                    + " " + Files.getAttribute(PostDumpHook.marks(control), "unix:uid"));
        });

        driver.move("job7-a1", JOB, container(), live("job7-a1", target, new RecordingHandover()), WHOLE);

        assertEquals(List.of("rwx--x--x rwx------ rwx------ " + OWNER + " rwx--x--x 0 " + OWNER), seen);
    }

    private static String mode(Path directory) throws IOException {
        return java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(directory));
    }

    private static ContainerManifest container() {
        return new ContainerManifest(ContainerManifest.SUPPORTED_VERSION, FakeNode.INIT_PID, 99, OWNER, OWNER,
                "/run/lifeboat/containers/c1/root", null, List.of(), List.of(), "/home/user", "/home/user/out",
                "/home/user/err", "/home/user/.status", List.of("/bin/sleep", "600"));
    }
}
