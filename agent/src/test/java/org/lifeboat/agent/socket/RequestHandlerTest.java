package org.lifeboat.agent.socket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.migration.MigrationException;
import org.lifeboat.agent.migration.MigrationGate;
import org.lifeboat.agent.migration.MigrationHistory;
import org.lifeboat.agent.migration.MigrationReport;
import org.lifeboat.agent.migration.Outcome;
import org.lifeboat.agent.migration.Reports;
import org.lifeboat.agent.migration.TransferMode;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.registry.JobRecord;
import org.lifeboat.agent.registry.JobRegistry;
import org.lifeboat.agent.registry.RegistryStore;
import org.lifeboat.agent.registry.StepRecord;

class RequestHandlerTest {

    /** Unit tests of the protocol need no migrations; the engine's tests drive "migrate" for real. */
    static MigrationReport refuseMigrations(long job, String targetNode, TransferMode mode) throws MigrationException {
        throw new MigrationException(MigrationException.Reason.CONFLICT, "migrations are not part of this test");
    }


    private static final ObjectMapper JSON = AgentJson.mapper();
    private static final Instant NOW = Instant.parse("2026-11-22T01:02:03.456Z");
    private static final int SLURM_USER = 64030;
    private static final int ALICE_UID = 1000;
    private static final int BOB_UID = 1001;
    private static final PeerCredentials ROOT = new PeerCredentials(10, 0, 0);
    private static final PeerCredentials SLURM = new PeerCredentials(11, SLURM_USER, SLURM_USER);
    private static final PeerCredentials ALICE = new PeerCredentials(12, ALICE_UID, 100);
    private static final PeerCredentials BOB = new PeerCredentials(13, BOB_UID, 100);
    private static final PeerCredentials CAROL = new PeerCredentials(14, 1002, 100);

    @TempDir
    Path state;

    private JobRegistry registry;
    private MigrationHistory history;
    private RequestHandler handler;
    private QuietLogs quiet;

    @BeforeEach
    void setUp() throws IOException {
        registry = new JobRegistry(new RegistryStore(state), Clock.fixed(NOW, ZoneOffset.UTC));
        history = MigrationHistory.load(state, MigrationHistory.DEFAULT_CAPACITY, Clock.fixed(NOW, ZoneOffset.UTC));
        handler = new RequestHandler(registry, new Authorizer(SLURM_USER), RequestHandlerTest::refuseMigrations, JobNetworkRequests.NONE, history::recent);
        quiet = QuietLogs.socketWarnings();
    }

    @AfterEach
    void restoreLogging() {
        quiet.close();
    }

    // --- happy paths ------------------------------------------------------------------------------

    @Test
    void stepStartRegistersTheStepAndRepliesWithItsStatusAlone() throws Exception {
        JsonNode reply = ok(ROOT, stepStart(42, "batch", ALICE_UID));

        assertEquals(List.of("version", "status"), fieldNames(reply));
        assertEquals(new JobRecord(42, ALICE_UID, 100, Map.of("batch", new StepRecord("batch", 2, 4, Map.of(), NOW)), NOW),
                registry.job(42).orElseThrow());
    }

    @Test
    void aStepAskingForItsJobsOwnNetworkGetsItBeforeTheReply() throws Exception {
        List<Long> provided = new ArrayList<>();
        List<Long> ended = new ArrayList<>();
        RequestHandler withNetworks = new RequestHandler(registry, new Authorizer(SLURM_USER), RequestHandlerTest::refuseMigrations,
                new JobNetworkRequests() {
                    @Override
                    public boolean available() {
                        return true;
                    }

                    @Override
                    public String provide(long job) {
                        provided.add(job);
                        return "lifeboat-job-" + job + "-node1";
                    }

                    @Override
                    public void jobEnded(long job) {
                        ended.add(job);
                    }
                }, history::recent);

        JsonNode reply = parseReply(withNetworks.handle(ROOT, stepStart(42, "batch", ALICE_UID).replace("}", ",\"network\":\"job\"}")));
        parseReply(withNetworks.handle(ROOT, stepStart(43, "batch", ALICE_UID)));
        parseReply(withNetworks.handle(ROOT, line("job-end", "'job':42")));

        assertEquals("ok", reply.path("status").asText(), reply.toString());
        assertEquals("lifeboat-job-42-node1", reply.path("network-namespace").asText());
        assertEquals(List.of(42L), provided);
        assertEquals(List.of(42L), ended);
    }

    @Test
    void aStepAskingForAnOwnNetworkWhereNoneIsGivenIsRefusedAndNotRegistered() {
        JsonNode reply = error(ROOT, stepStart(42, "batch", ALICE_UID).replace("}", ",\"network\":\"job\"}"), "not-configured");

        assertTrue(reply.at("/error/message").asText().contains("job-network.addresses"), reply.toString());
        assertTrue(registry.job(42).isEmpty());
    }

    @Test
    void anUnknownNetworkKindIsMalformed() {
        error(ROOT, stepStart(42, "batch", ALICE_UID).replace("}", ",\"network\":\"host\"}"), "malformed");
        error(ROOT, stepStart(42, "batch", ALICE_UID).replace("}", ",\"network\":1}"), "malformed");
    }

    @Test
    void taskStartRecordsTheTasksPid() throws Exception {
        ok(ROOT, stepStart(42, "0", ALICE_UID));

        JsonNode reply = ok(ROOT, line("task-start", "'job':42,'step':'0','task':3,'pid':4242"));

        assertEquals(List.of("version", "status"), fieldNames(reply));
        assertEquals(Map.of(3, 4242L), registry.job(42).orElseThrow().steps().get("0").taskPids());
    }

    @Test
    void stepEndRemovesTheStepAndKeepsTheJob() throws Exception {
        ok(ROOT, stepStart(42, "batch", ALICE_UID));
        ok(ROOT, stepStart(42, "0", ALICE_UID));

        JsonNode reply = ok(ROOT, line("step-end", "'job':42,'step':'0'"));

        assertEquals(List.of("version", "status"), fieldNames(reply));
        assertEquals(List.of("batch"), List.copyOf(registry.job(42).orElseThrow().steps().keySet()));
    }

    @Test
    void jobEndRemovesTheJobAndRepliesWithNothingElse() throws Exception {
        ok(ROOT, stepStart(42, "batch", ALICE_UID));

        Reply reply = handler.handle(ROOT, line("job-end", "'job':42"));

        assertEquals("{\"version\":1,\"status\":\"ok\"}", reply.line());
        assertEquals(Optional.empty(), registry.job(42));
    }

    @Test
    void jobEndOfAJobThatIsNotRegisteredIsFine() {
        Reply reply = handler.handle(ROOT, line("job-end", "'job':42"));

        assertEquals("{\"version\":1,\"status\":\"ok\"}", reply.line());
    }

    @Test
    void statusOfAnEmptyRegistryIsAnEmptyList() {
        assertEquals("{\"version\":1,\"status\":\"ok\",\"jobs\":[]}", handler.handle(ALICE, line("status", "")).line());
    }

    @Test
    void jobRepliesWithTheWholeJobRecordAndWhetherItCanMoveWhole() throws Exception {
        ok(ROOT, stepStart(42, "batch", ALICE_UID));

        JsonNode reply = ok(ALICE, line("job", "'job':42"));

        ObjectNode expected = (ObjectNode) JSON.readTree(JSON.writeValueAsString(registry.job(42).orElseThrow()));
        expected.put("movable", true);
        assertEquals(expected, reply.get("job"));
    }

    @Test
    void jobSaysWhyAJobCannotMoveWhole() throws Exception {
        RequestHandler unmovable = new RequestHandler(registry, new Authorizer(SLURM_USER), new JobMigrations() {
            @Override
            public MigrationReport migrate(long job, String targetNode, TransferMode mode) throws MigrationException {
                return refuseMigrations(job, targetNode, mode);
            }

            @Override
            public Optional<String> whyNotMovable(long job) {
                return Optional.of("job " + job + " runs on 2 nodes (node[1-2])");
            }
        }, JobNetworkRequests.NONE, history::recent);
        ok(ROOT, stepStart(42, "batch", ALICE_UID));

        JsonNode job = JSON.readTree(unmovable.handle(ALICE, line("job", "'job':42")).line()).get("job");

        assertFalse(job.get("movable").asBoolean());
        assertEquals("job 42 runs on 2 nodes (node[1-2])", job.get("unmovable-reason").asText());
    }

    @Test
    void everySuccessfulReplyIsTaggedWithItsRequestForMetrics() throws Exception {
        assertEquals("step-start", handler.handle(ROOT, stepStart(42, "batch", ALICE_UID)).request());
        assertEquals("task-start", handler.handle(ROOT, line("task-start", "'job':42,'step':'batch','task':0,'pid':9")).request());
        assertEquals("status", handler.handle(ROOT, line("status", "")).request());
        assertEquals("job", handler.handle(ROOT, line("job", "'job':42")).request());
        assertEquals("step-end", handler.handle(ROOT, line("step-end", "'job':42,'step':'batch'")).request());
        assertEquals("job-end", handler.handle(ROOT, line("job-end", "'job':42")).request());
    }

    // --- authorization ----------------------------------------------------------------------------

    @Test
    void registrationsFromAnOrdinaryUserAreNotPermittedAndChangeNothing() throws Exception {
        ok(ROOT, stepStart(42, "batch", ALICE_UID));
        List<JobRecord> before = registry.jobs();

        error(ALICE, stepStart(43, "batch", ALICE_UID), "not-permitted");
        error(ALICE, line("task-start", "'job':42,'step':'batch','task':0,'pid':9"), "not-permitted");
        error(ALICE, line("step-end", "'job':42,'step':'batch'"), "not-permitted");
        error(ALICE, line("job-end", "'job':42"), "not-permitted");

        assertEquals(before, registry.jobs());
    }

    @Test
    void theSlurmUserMayRegister() throws Exception {
        ok(SLURM, stepStart(42, "batch", ALICE_UID));
        ok(SLURM, line("task-start", "'job':42,'step':'batch','task':0,'pid':9"));
        ok(SLURM, line("step-end", "'job':42,'step':'batch'"));
        ok(SLURM, line("job-end", "'job':42"));

        assertEquals(List.of(), registry.jobs());
    }

    @Test
    void aUsersStatusListsOnlyTheirJobsAndRootSeesAll() throws Exception {
        ok(ROOT, stepStart(1, "batch", ALICE_UID));
        ok(ROOT, stepStart(2, "batch", BOB_UID));
        ok(ROOT, stepStart(3, "batch", ALICE_UID));

        assertEquals(List.of(1L, 3L), statusJobIds(ALICE));
        assertEquals(List.of(2L), statusJobIds(BOB));
        assertEquals(List.of(), statusJobIds(CAROL));
        assertEquals(List.of(1L, 2L, 3L), statusJobIds(ROOT));
    }

    @Test
    void theSlurmUserSeesOnlyItsOwnJobsInStatus() throws Exception {
        ok(ROOT, stepStart(1, "batch", ALICE_UID));

        assertEquals(List.of(), statusJobIds(SLURM));
    }

    @Test
    void askingForAnotherUsersJobIsNotPermittedButRootMay() throws Exception {
        ok(ROOT, stepStart(42, "batch", ALICE_UID));

        JsonNode refused = error(BOB, line("job", "'job':42"), "not-permitted");

        assertFalse(refused.toString().contains("\"uid\""), "a refusal must not reveal the job: " + refused);
        assertEquals(42, ok(ROOT, line("job", "'job':42")).at("/job/job").asLong());
    }

    @Test
    void askingForAJobThatIsNotRegisteredIsUnknownJob() {
        JsonNode reply = error(ALICE, line("job", "'job':42"), "unknown-job");

        assertTrue(reply.at("/error/message").asText().contains("42"), reply.toString());
    }

    // --- malformed input --------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "hello", "{", "}", "{\"version\":1,", "{'version':1}", "version=1&request=status"})
    void aLineThatIsNotJsonIsMalformed(String line) {
        error(ROOT, line, "malformed");
    }

    @ParameterizedTest
    @ValueSource(strings = {"[]", "[{\"version\":1,\"request\":\"status\"}]", "42", "-1.5", "\"status\"", "null", "true"})
    void jsonThatIsNotAnObjectIsMalformed(String line) {
        JsonNode reply = error(ROOT, line, "malformed");

        assertEquals("a request is one JSON object on one line", reply.at("/error/message").asText());
    }

    @Test
    void moreThanOneJsonValueOnALineIsMalformed() {
        error(ROOT, "{\"version\":1,\"request\":\"status\"} {\"version\":1,\"request\":\"job-end\",\"job\":7}", "malformed");
        error(ROOT, "{\"version\":1,\"request\":\"status\"} trailing", "malformed");
    }

    @Test
    void surroundingWhitespaceIsAllowed() {
        ok(ROOT, "  \t{ \"version\" : 1 , \"request\" : \"status\" }  \r");
    }

    @Test
    void aMissingVersionIsMalformed() {
        JsonNode reply = error(ROOT, "{\"request\":\"status\"}", "malformed");

        assertEquals("missing \"version\"", reply.at("/error/message").asText());
    }

    @ParameterizedTest
    @ValueSource(strings = {"\"1\"", "1.0", "1.5", "null", "true", "[1]", "{}"})
    void aVersionThatIsNotAnIntegerIsMalformed(String version) {
        error(ROOT, "{\"version\":" + version + ",\"request\":\"status\"}", "malformed");
    }

    @ParameterizedTest
    @ValueSource(strings = {"2", "0", "-1", "2147483648", "99999999999999999999999999"})
    void anotherProtocolVersionIsUnsupportedAndTheReplySaysWhichIs(String version) {
        JsonNode reply = error(ROOT, "{\"version\":" + version + ",\"request\":\"status\"}", "unsupported-version");

        assertEquals(JSON.createArrayNode().add(1), reply.at("/error/supported"));
        assertEquals(1, reply.get("version").asInt());
    }

    @Test
    void onlyUnsupportedVersionRepliesListTheSupportedVersions() {
        JsonNode reply = error(ROOT, "nonsense", "malformed");

        assertTrue(reply.at("/error/supported").isMissingNode(), reply.toString());
    }

    @Test
    void aMissingOrNonStringRequestIsMalformed() {
        error(ROOT, "{\"version\":1}", "malformed");
        error(ROOT, "{\"version\":1,\"request\":42}", "malformed");
        error(ROOT, "{\"version\":1,\"request\":null}", "malformed");
        error(ROOT, "{\"version\":1,\"request\":[\"status\"]}", "malformed");
    }

    @Test
    void anUnknownRequestIsUnknownRequestListingTheKnownOnesAndIsCountedAsInvalid() {
        Reply reply = handler.handle(ROOT, line("evacuate", "'job':42"));
        JsonNode parsed = parseReply(reply);

        assertEquals("unknown-request", parsed.at("/error/code").asText());
        assertEquals("unknown request 'evacuate' (known: history, job, job-end, migrate, status, step-end, step-start, task-start)",
                parsed.at("/error/message").asText());
        assertEquals("invalid", reply.request(), "an unknown request name must not become a metric label");
    }

    @Test
    void migrateIsForTheJobsOwnerOrRootAndPassesTheTargetAndMode() throws Exception {
        registry.stepStarted(77, 1000, 1000, "batch", 0, 1);
        List<String> asked = new ArrayList<>();
        RequestHandler migrating = new RequestHandler(registry, new Authorizer(SLURM_USER), (job, target, mode) -> {
            asked.add(job + " " + target + " " + mode);
            return new MigrationReport("m1", job, "n1", target, TransferMode.DISKLESS, Outcome.MIGRATED, null,
                    Instant.EPOCH, Map.of("dump", 5L), 9, 7, 4, 2, 100, 100, 10, 1000, null, null, null, 0);
        }, JobNetworkRequests.NONE, List::of);

        JsonNode reply = parseReply(migrating.handle(new PeerCredentials(1, 1000, 1000),
                line("migrate", "'job':77,'to':'n2','mode':'shared-fs'")));
        JsonNode refused = parseReply(migrating.handle(new PeerCredentials(1, 1001, 1001), line("migrate", "'job':77,'to':'n2'")));

        assertEquals("ok", reply.path("status").asText(), reply::toString);
        assertEquals("migrated", reply.at("/migration/outcome").asText());
        assertEquals(List.of("77 n2 SHARED_FS"), asked);
        assertEquals("not-permitted", refused.at("/error/code").asText());
        assertEquals("malformed", parseReply(migrating.handle(ROOT, line("migrate", "'job':77,'to':'n2','mode':'scp'")))
                .at("/error/code").asText());
        assertEquals("unknown-job", parseReply(migrating.handle(ROOT, line("migrate", "'job':78,'to':'n2'")))
                .at("/error/code").asText());
    }

    @Test
    void aMigrationThatCannotStartIsReportedWithItsCode() throws Exception {
        registry.stepStarted(77, 1000, 1000, "batch", 0, 1);
        RequestHandler busy = new RequestHandler(registry, new Authorizer(SLURM_USER), (job, target, mode) -> {
            throw new MigrationException(MigrationException.Reason.NO_CONTAINER, "job 77 runs no container started by lifeboat-run");
        }, JobNetworkRequests.NONE, List::of);

        JsonNode reply = parseReply(busy.handle(ROOT, line("migrate", "'job':77,'to':'n2'")));

        assertEquals("no-container", reply.at("/error/code").asText());
    }

    @Test
    void aNodeWhoseCriuIsUnusableRefusesAMigrationWithCriuUnusableAndTheReason() throws Exception {
        registry.stepStarted(77, 1000, 1000, "batch", 0, 1);
        MigrationGate closed = () -> Optional.of("`criu check` failed with CRIU 4.1.1");
        RequestHandler refusing = new RequestHandler(registry, new Authorizer(SLURM_USER), (job, target, mode) -> {
            closed.requireOpenToSend(job);
            throw new AssertionError("the gate let the migration through");
        }, JobNetworkRequests.NONE, List::of);

        JsonNode reply = parseReply(refusing.handle(ROOT, line("migrate", "'job':77,'to':'n2'")));

        assertEquals("criu-unusable", reply.at("/error/code").asText());
        assertEquals("job 77 cannot leave this node: `criu check` failed with CRIU 4.1.1", reply.at("/error/message").asText());
    }

    @Test
    void historyListsTheNewestMigrationFirstWithEveryPhaseAndCriusFigures() {
        history.migrationEnded(Reports.migrated("job42-aaaa", 42, ALICE_UID));
        history.migrationEnded(Reports.rolledBack("job43-bbbb", 43, ALICE_UID));

        JsonNode migrations = ok(ALICE, line("history", "")).get("migrations");

        assertEquals(2, migrations.size());
        assertEquals("job43-bbbb", migrations.get(0).path("migration").asText());
        assertEquals("restore-failed", migrations.get(0).path("reason").asText());
        JsonNode migrated = migrations.get(1);
        assertEquals(924, migrated.at("/phase-millis/dump").asLong());
        assertEquals(List.of("prepare-target", "dump", "send-images", "restore", "confirm", "cleanup"),
                fieldNames(migrated.get("phase-millis")), "phases in the order they ran");
        assertEquals(1_448_000, migrated.at("/criu-dump/frozen-micros").asLong());
        assertEquals(65_536, migrated.at("/criu-restore/pages-restored").asLong());
    }

    @Test
    void historyShowsAUserTheirOwnJobsOnlyAndRootAll() {
        history.migrationEnded(Reports.migrated("job42-aaaa", 42, ALICE_UID));
        history.migrationEnded(Reports.migrated("job50-cccc", 50, BOB_UID));

        assertEquals(List.of("job42-aaaa"), historyIds(ALICE, ""));
        assertEquals(List.of("job50-cccc"), historyIds(BOB, ""));
        assertEquals(List.of(), historyIds(CAROL, ""));
        assertEquals(List.of("job50-cccc", "job42-aaaa"), historyIds(ROOT, ""));
    }

    @Test
    void historyTakesALimitFromOneTo1000() {
        for (int job = 1; job <= 5; job++) {
            history.migrationEnded(Reports.migrated("job" + job + "-dddd", job, ALICE_UID));
        }

        assertEquals(List.of("job5-dddd", "job4-dddd"), historyIds(ROOT, "'limit':2"));
        assertEquals(5, historyIds(ROOT, "'limit':1000").size());
        error(ROOT, line("history", "'limit':0"), "malformed");
        error(ROOT, line("history", "'limit':1001"), "malformed");
        error(ROOT, line("history", "'limit':'2'"), "malformed");
        error(ROOT, line("history", "'job':2"), "malformed");
    }

    @Test
    void requestNamesAreCaseSensitive() {
        error(ROOT, line("STATUS", ""), "unknown-request");
    }

    @Test
    void anUnknownFieldIsMalformedAndNamed() {
        JsonNode reply = error(ROOT, line("status", "'verbose':true"), "malformed");

        assertTrue(reply.at("/error/message").asText().contains("unknown field 'verbose' in status"), reply.toString());
    }

    @Test
    void aFieldOfAnotherRequestIsAnUnknownFieldToo() throws Exception {
        ok(ROOT, stepStart(42, "batch", ALICE_UID));

        JsonNode reply = error(ROOT, line("job", "'job':42,'step':'batch'"), "malformed");

        assertTrue(reply.at("/error/message").asText().contains("'step'"), reply.toString());
    }

    @Test
    void aMissingFieldIsMalformedAndNamed() {
        JsonNode reply = error(ROOT, line("step-start", "'job':42,'step':'batch','uid':1000,'restart-count':0,'tasks':1"),
                "malformed");

        assertEquals("missing \"gid\"", reply.at("/error/message").asText());
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-1", "4294967296", "18446744073709551616", "99999999999999999999999999999",
        "1.5", "1.0", "1e3", "1e400", "\"42\"", "null", "true", "[42]", "{}"})
    void aJobIdOutOfRangeOrNotAnIntegerIsMalformed(String job) {
        JsonNode reply = error(ROOT, line("job", "'job':" + job), "malformed");

        assertTrue(reply.at("/error/message").asText().startsWith("\"job\" must be an integer from 1 to 4294967295"),
                reply.toString());
    }

    @Test
    void theLargestJobIdIsAccepted() {
        ok(ROOT, line("step-start", "'job':4294967295,'step':'batch','uid':1000,'gid':100,'restart-count':0,'tasks':1"));

        assertEquals(4294967295L, registry.job(4294967295L).orElseThrow().job());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "'task':0,'pid':-1",
        "'task':0,'pid':0",
        "'task':0,'pid':2147483648",
        "'task':0,'pid':1.5",
        "'task':-1,'pid':4242",
        "'task':2147483648,'pid':4242",
        "'task':\"0\",'pid':4242",
    })
    void taskNumbersOutOfRangeAreMalformed(String fields) throws Exception {
        ok(ROOT, stepStart(42, "batch", ALICE_UID));

        error(ROOT, line("task-start", "'job':42,'step':'batch'," + fields), "malformed");

        assertEquals(Map.of(), registry.job(42).orElseThrow().steps().get("batch").taskPids());
    }

    @ParameterizedTest
    @ValueSource(strings = {"'uid':-1", "'uid':2147483648", "'uid':4294967295", "'gid':-5", "'gid':1e2"})
    void ownerIdsOutOfRangeAreMalformed(String owner) {
        String uid = owner.startsWith("'uid'") ? owner : "'uid':1000";
        String gid = owner.startsWith("'gid'") ? owner : "'gid':100";

        error(ROOT, line("step-start", "'job':42,'step':'batch'," + uid + "," + gid + ",'restart-count':0,'tasks':1"),
                "malformed");

        assertEquals(List.of(), registry.jobs());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "Batch", "BATCH", "batch ", " 0", "-1", "1.0", "0x1", "12345678901", "1a", "step0",
        "\\u0661", "\\uFF11", "0\\n", "../0", "*"})
    void aStepThatIsNeitherANumberNorASpecialStepIsMalformed(String step) {
        JsonNode reply = error(ROOT, line("step-start",
                "'job':42,'step':'" + step + "','uid':1000,'gid':100,'restart-count':0,'tasks':1"), "malformed");

        assertTrue(reply.at("/error/message").asText().startsWith("\"step\" must be a step number"), reply.toString());
        assertEquals(List.of(), registry.jobs());
    }

    @Test
    void aStepThatIsNotAStringIsMalformed() {
        error(ROOT, line("step-start", "'job':42,'step':0,'uid':1000,'gid':100,'restart-count':0,'tasks':1"), "malformed");
        error(ROOT, line("step-end", "'job':42,'step':null"), "malformed");
    }

    @ParameterizedTest
    @ValueSource(strings = {"batch", "extern", "interactive", "0", "4294967294"})
    void slurmsStepNamesAreAccepted(String step) {
        ok(ROOT, stepStart(42, step, ALICE_UID));

        assertTrue(registry.job(42).orElseThrow().steps().containsKey(step));
    }

    @Test
    void aKeyGivenTwiceIsMalformedRatherThanOneOfThemPicked() {
        error(ROOT, "{\"version\":1,\"version\":1,\"request\":\"status\"}", "malformed");
        error(ROOT, "{\"version\":1,\"request\":\"job-end\",\"request\":\"status\"}", "malformed");
        error(ROOT, line("step-start", "'job':42,'job':43,'step':'batch','uid':1000,'gid':100,'restart-count':0,'tasks':1"),
                "malformed");

        assertEquals(List.of(), registry.jobs());
    }

    @Test
    void deeplyNestedJsonIsMalformedNotAStackOverflow() {
        error(ROOT, "[".repeat(10_000), "malformed");
        error(ROOT, "{\"version\":1,\"request\":\"status\",\"x\":" + "[".repeat(5_000) + "]".repeat(5_000) + "}", "malformed");
    }

    @Test
    void controlCharactersAndReplacementCharactersInStringsAreHandled() {
        error(ROOT, "{\"version\":1,\"request\":\"stat\u0000us\"}", "malformed");
        error(ROOT, "{\"version\":1,\"request\":\"stat\uFFFDus\"}", "unknown-request");
    }

    // --- registry outcomes ------------------------------------------------------------------------

    @Test
    void aStepStartNamingAnotherOwnerForAKnownJobIsAConflict() throws Exception {
        ok(ROOT, stepStart(42, "batch", ALICE_UID));
        List<JobRecord> before = registry.jobs();

        error(ROOT, stepStart(42, "0", BOB_UID), "conflict");

        assertEquals(before, registry.jobs());
    }

    @Test
    void aTaskOrStepEndOfSomethingNotRegisteredIsUnknownJobOrUnknownStep() throws Exception {
        ok(ROOT, stepStart(42, "batch", ALICE_UID));

        error(ROOT, line("task-start", "'job':43,'step':'batch','task':0,'pid':9"), "unknown-job");
        error(ROOT, line("task-start", "'job':42,'step':'0','task':0,'pid':9"), "unknown-step");
        error(ROOT, line("step-end", "'job':43,'step':'batch'"), "unknown-job");
        error(ROOT, line("step-end", "'job':42,'step':'0'"), "unknown-step");
    }

    @Test
    void aRegistryThatCannotSaveMakesRegistrationsInternalErrorsAndChangesNothing() throws Exception {
        ok(ROOT, stepStart(42, "batch", ALICE_UID));
        List<JobRecord> before = registry.jobs();
        Files.createDirectory(state.resolve("registry.json.tmp"));

        JsonNode refused = error(ROOT, stepStart(42, "0", ALICE_UID), "internal");
        error(ROOT, stepStart(43, "batch", BOB_UID), "internal");
        error(ROOT, line("task-start", "'job':42,'step':'batch','task':0,'pid':9"), "internal");
        error(ROOT, line("step-end", "'job':42,'step':'batch'"), "internal");
        error(ROOT, line("job-end", "'job':42"), "internal");

        assertTrue(refused.at("/error/message").asText().startsWith("the agent could not carry out the request"),
                refused.toString());
        assertEquals(before, registry.jobs());
        assertEquals(before, new RegistryStore(state).load());
        assertEquals(1, statusJobIds(ROOT).size(), "reads still work while saving fails");
    }

    @Test
    void anInternalErrorIsStillCountedUnderItsRequest() throws Exception {
        Files.createDirectory(state.resolve("registry.json.tmp"));

        Reply reply = handler.handle(ROOT, stepStart(42, "batch", ALICE_UID));

        assertEquals("step-start", reply.request());
        assertEquals(ErrorCode.INTERNAL, reply.error());
    }

    // --- replies the server asks for --------------------------------------------------------------

    @Test
    void theTooLargeAndBusyRepliesAreProtocolErrors() {
        Reply tooLarge = handler.tooLarge(ALICE, 65536);
        Reply busy = handler.busy(ALICE);

        assertEquals("too-large", parseReply(tooLarge).at("/error/code").asText());
        assertTrue(parseReply(tooLarge).at("/error/message").asText().contains("65536"));
        assertEquals("busy", parseReply(busy).at("/error/code").asText());
        assertEquals("invalid", tooLarge.request());
        assertEquals("invalid", busy.request());
    }

    // --- helpers ----------------------------------------------------------------------------------

    /** A request line; single quotes in {@code fields} stand for double quotes. */
    private static String line(String request, String fields) {
        return "{\"version\":1,\"request\":\"" + request + "\"" + (fields.isEmpty() ? "" : "," + fields.replace('\'', '"')) + "}";
    }

    private static String stepStart(long job, String step, int uid) {
        return line("step-start", "'job':" + job + ",'step':'" + step + "','uid':" + uid
                + ",'gid':100,'restart-count':2,'tasks':4");
    }

    private JsonNode ok(PeerCredentials peer, String line) {
        Reply reply = handler.handle(peer, line);
        JsonNode parsed = parseReply(reply);
        assertEquals("ok", parsed.get("status").asText(), "request " + line + " got " + reply.line());
        assertTrue(reply.succeeded());
        return parsed;
    }

    private JsonNode error(PeerCredentials peer, String line, String code) {
        Reply reply = handler.handle(peer, line);
        JsonNode parsed = parseReply(reply);
        assertEquals("error", parsed.get("status").asText(), "request " + line + " got " + reply.line());
        assertEquals(code, parsed.at("/error/code").asText(), "request " + line + " got " + reply.line());
        assertEquals(code, reply.error().wireName());
        assertFalse(parsed.at("/error/message").asText().isBlank(), reply.line());
        return parsed;
    }

    /** Every reply is one line of JSON beginning with the version and the status, in that order. */
    private static JsonNode parseReply(Reply reply) {
        assertTrue(reply.line().startsWith("{\"version\":1,\"status\":\""), reply.line());
        assertFalse(reply.line().contains("\n"), reply.line());
        try {
            return JSON.readTree(reply.line());
        } catch (IOException e) {
            throw new AssertionError("reply is not JSON: " + reply.line(), e);
        }
    }

    private List<Long> statusJobIds(PeerCredentials peer) {
        List<Long> ids = new ArrayList<>();
        ok(peer, line("status", "")).get("jobs").forEach(job -> ids.add(job.get("job").asLong()));
        return ids;
    }

    private List<String> historyIds(PeerCredentials peer, String fields) {
        List<String> ids = new ArrayList<>();
        ok(peer, line("history", fields)).get("migrations").forEach(report -> ids.add(report.get("migration").asText()));
        return ids;
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
