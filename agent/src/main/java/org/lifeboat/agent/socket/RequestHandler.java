package org.lifeboat.agent.socket;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.logging.Logger;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.migration.MigrationException;
import org.lifeboat.agent.migration.MigrationReport;
import org.lifeboat.agent.migration.TransferMode;
import org.lifeboat.agent.registry.JobRecord;
import org.lifeboat.agent.registry.JobRegistry;
import org.lifeboat.agent.registry.RegistryException;

/**
 * Protocol version 1 of the agent's socket: turns one request line into one reply line. Pure logic
 * with no I/O of its own besides the registry, so every request and every bad input is testable
 * without a socket. The wire format is documented in the README ("Agent socket protocol").
 */
public final class RequestHandler {

    public static final int PROTOCOL_VERSION = 1;
    /**
     * The longest reply the SPANK plugin reads (LIFEBOAT_REPLY_MAX in slurm-hooks/src/agent_client.h):
     * registration replies and every error reply stay far below it.
     */
    static final int REGISTRATION_REPLY_MAX_BYTES = 4096;
    static final String INVALID_REQUEST = "invalid";
    private static final Logger LOG = Logger.getLogger(RequestHandler.class.getName());
    private static final long MAX_JOB_ID = 0xFFFF_FFFFL;
    private static final long MAX_ID = Integer.MAX_VALUE;
    private static final long MAX_HISTORY = 1000;

    private final JobRegistry registry;
    private final Authorizer authorizer;
    private final JobMigrations migrations;
    private final JobNetworkRequests networks;
    private final Supplier<List<MigrationReport>> history;
    // One object per line: anything after it (a second object, stray text) makes the line malformed.
    private final ObjectMapper json = AgentJson.mapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private final Map<String, RequestType> requestTypes = Map.of(
            "step-start", new RequestType(Set.of("job", "step", "uid", "gid", "restart-count", "tasks", "network"), this::stepStart),
            "task-start", new RequestType(Set.of("job", "step", "task", "pid"), this::taskStart),
            "step-end", new RequestType(Set.of("job", "step"), this::stepEnd),
            "job-end", new RequestType(Set.of("job"), this::jobEnd),
            "status", new RequestType(Set.of(), this::status),
            "job", new RequestType(Set.of("job"), this::job),
            "migrate", new RequestType(Set.of("job", "to", "mode"), this::migrate),
            "history", new RequestType(Set.of("limit"), this::history));

    /** @param history the reports of the migrations this node started, newest first */
    public RequestHandler(JobRegistry registry, Authorizer authorizer, JobMigrations migrations, JobNetworkRequests networks,
                          Supplier<List<MigrationReport>> history) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.authorizer = Objects.requireNonNull(authorizer, "authorizer");
        this.migrations = Objects.requireNonNull(migrations, "migrations");
        this.networks = Objects.requireNonNull(networks, "networks");
        this.history = Objects.requireNonNull(history, "history");
    }

    public Reply handle(PeerCredentials peer, String line) {
        String request = INVALID_REQUEST;
        try {
            ObjectNode message = parse(line);
            requireVersion(message);
            request = requestName(message);
            RequestType type = requestTypes.get(request);
            if (type == null) {
                String unknown = request;
                request = INVALID_REQUEST;
                throw new ProtocolException(ErrorCode.UNKNOWN_REQUEST,
                        "unknown request '" + unknown + "' (known: " + String.join(", ", new TreeSet<>(requestTypes.keySet())) + ")");
            }
            requireOnlyKnownFields(message, request, type.fields());
            ObjectNode reply = type.action().handle(peer, message);
            reply.put("status", "ok");
            return new Reply(json.writeValueAsString(withVersionFirst(reply)), request, null);
        } catch (ProtocolException e) {
            return refuse(peer, request, e.code(), e.getMessage());
        } catch (IOException e) {
            LOG.severe("request " + request + " from " + peer + " failed: " + e.getMessage());
            return refuse(peer, request, ErrorCode.INTERNAL, "the agent could not carry out the request: " + e.getMessage());
        }
    }

    /** The reply for a line that exceeded the size limit, which is never parsed. */
    public Reply tooLarge(PeerCredentials peer, int limit) {
        return refuse(peer, INVALID_REQUEST, ErrorCode.TOO_LARGE, "request line longer than " + limit + " bytes");
    }

    /** The reply when the agent cannot take another connection now. */
    /** The request types a reply may name, "invalid" (for requests that name none it knows) included. */
    public Set<String> requestNames() {
        Set<String> names = new TreeSet<>(requestTypes.keySet());
        names.add(INVALID_REQUEST);
        return names;
    }

    public Reply busy(PeerCredentials peer) {
        return refuse(peer, INVALID_REQUEST, ErrorCode.BUSY, "the agent is busy; try again");
    }

    private Reply refuse(PeerCredentials peer, String request, ErrorCode code, String message) {
        LOG.warning("refused " + request + " from " + peer + ": " + code.wireName() + ": " + message);
        ObjectNode reply = json.createObjectNode();
        reply.put("version", PROTOCOL_VERSION);
        reply.put("status", "error");
        ObjectNode error = reply.putObject("error");
        error.put("code", code.wireName());
        error.put("message", message);
        if (code == ErrorCode.UNSUPPORTED_VERSION) {
            error.putArray("supported").add(PROTOCOL_VERSION);
        }
        try {
            return new Reply(json.writeValueAsString(reply), request, code);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize an error reply", e);
        }
    }

    private ObjectNode parse(String line) throws ProtocolException {
        JsonNode node;
        try {
            node = json.readTree(line);
        } catch (JsonProcessingException e) {
            throw new ProtocolException(ErrorCode.MALFORMED, "not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new ProtocolException(ErrorCode.MALFORMED, "a request is one JSON object on one line");
        }
        return (ObjectNode) node;
    }

    private static void requireVersion(ObjectNode message) throws ProtocolException {
        JsonNode version = message.get("version");
        if (version == null) {
            throw new ProtocolException(ErrorCode.MALFORMED, "missing \"version\"");
        }
        if (!version.isIntegralNumber()) {
            throw new ProtocolException(ErrorCode.MALFORMED, "\"version\" must be an integer");
        }
        if (!version.canConvertToInt() || version.intValue() != PROTOCOL_VERSION) {
            throw new ProtocolException(ErrorCode.UNSUPPORTED_VERSION,
                    "protocol version " + version.asText() + " is not supported; this agent speaks " + PROTOCOL_VERSION);
        }
    }

    private static String requestName(ObjectNode message) throws ProtocolException {
        JsonNode request = message.get("request");
        if (request == null || !request.isTextual()) {
            throw new ProtocolException(ErrorCode.MALFORMED, "missing \"request\" (a string)");
        }
        return request.textValue();
    }

    private static void requireOnlyKnownFields(ObjectNode message, String request, Set<String> fields)
            throws ProtocolException {
        for (Iterator<String> names = message.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!name.equals("version") && !name.equals("request") && !fields.contains(name)) {
                throw new ProtocolException(ErrorCode.MALFORMED, "unknown field '" + name + "' in " + request
                        + " (known: " + String.join(", ", new TreeSet<>(fields)) + ")");
            }
        }
    }

    // --- requests ---------------------------------------------------------------------------------

    private ObjectNode stepStart(PeerCredentials peer, ObjectNode message) throws ProtocolException, IOException {
        requireRegistrar(peer, "step-start");
        long job = number(message, "job", 1, MAX_JOB_ID);
        String step = stepId(message);
        int uid = (int) number(message, "uid", 0, MAX_ID);
        int gid = (int) number(message, "gid", 0, MAX_ID);
        int restartCount = (int) number(message, "restart-count", 0, MAX_ID);
        int tasks = (int) number(message, "tasks", 0, MAX_ID);
        boolean ownNetwork = ownNetworkAsked(message);
        if (ownNetwork && !networks.available()) {
            throw new ProtocolException(ErrorCode.NOT_CONFIGURED, "job " + job + " asks for a network of its own (--migratable=net), "
                    + "but this node has no addresses to give: job-network.addresses is not set in agent.yaml");
        }
        JobRecord record = registryCall(() -> registry.stepStarted(job, uid, gid, step, restartCount, tasks));
        // Before the reply: the step's tasks start once the plugin has it, and lifeboat-run --network=job joins the namespace.
        String namespace = ownNetwork ? networks.provide(job) : null;
        LOG.info("job " + job + " step " + step + " registered (uid " + uid + ", restart " + restartCount + ", "
                + tasks + " tasks" + (namespace == null ? "" : ", network " + namespace) + ") by " + peer);
        migrations.stepStarted(record, step);
        ObjectNode reply = registrationReply();
        if (namespace != null) {
            reply.put("network-namespace", namespace);
        }
        return reply;
    }

    /** The step-start's "network": absent for a job on the node's network, "job" for one of its own. */
    private static boolean ownNetworkAsked(ObjectNode message) throws ProtocolException {
        JsonNode network = message.get("network");
        if (network == null) {
            return false;
        }
        if (!network.isTextual() || !network.textValue().equals("job")) {
            throw new ProtocolException(ErrorCode.MALFORMED, "\"network\" must be \"job\" (a network of the job's own) or absent");
        }
        return true;
    }

    private ObjectNode taskStart(PeerCredentials peer, ObjectNode message) throws ProtocolException, IOException {
        requireRegistrar(peer, "task-start");
        long job = number(message, "job", 1, MAX_JOB_ID);
        String step = stepId(message);
        int task = (int) number(message, "task", 0, MAX_ID);
        long pid = number(message, "pid", 1, MAX_ID);
        JobRecord record = registryCall(() -> registry.taskStarted(job, step, task, pid));
        migrations.taskStarted(record, step, pid);
        return registrationReply();
    }

    private ObjectNode stepEnd(PeerCredentials peer, ObjectNode message) throws ProtocolException, IOException {
        requireRegistrar(peer, "step-end");
        long job = number(message, "job", 1, MAX_JOB_ID);
        String step = stepId(message);
        registryCall(() -> registry.stepEnded(job, step));
        LOG.info("job " + job + " step " + step + " ended");
        return registrationReply();
    }

    private ObjectNode jobEnd(PeerCredentials peer, ObjectNode message) throws ProtocolException, IOException {
        requireRegistrar(peer, "job-end");
        long job = number(message, "job", 1, MAX_JOB_ID);
        if (migrations.livesOnAfterItsEnd(job)) {
            return registrationReply();
        }
        registry.jobEnded(job);
        migrations.jobEnded(job);
        networks.jobEnded(job);
        LOG.info("job " + job + " ended on this node");
        return registrationReply();
    }

    private ObjectNode status(PeerCredentials peer, ObjectNode message) {
        ObjectNode reply = json.createObjectNode();
        ArrayNode jobs = reply.putArray("jobs");
        for (JobRecord job : registry.jobs()) {
            if (authorizer.mayAccess(peer, job)) {
                jobs.add(json.valueToTree(job));
            }
        }
        return reply;
    }

    private ObjectNode job(PeerCredentials peer, ObjectNode message) throws ProtocolException {
        long jobId = number(message, "job", 1, MAX_JOB_ID);
        JobRecord job = registry.job(jobId).orElseThrow(() ->
                new ProtocolException(ErrorCode.UNKNOWN_JOB, "job " + jobId + " is not registered on this node"));
        if (!authorizer.mayAccess(peer, job)) {
            throw new ProtocolException(ErrorCode.NOT_PERMITTED, "job " + jobId + " is not yours: not permitted");
        }
        ObjectNode reply = jobReply(job);
        // Whether a drain or `lifeboat migrate` could move it, asked of one job: it reads Slurm and /proc.
        Optional<String> whyNot = migrations.whyNotMovable(jobId);
        ObjectNode record = (ObjectNode) reply.get("job");
        record.put("movable", whyNot.isEmpty());
        whyNot.ifPresent(reason -> record.put("unmovable-reason", reason));
        return reply;
    }

    private ObjectNode migrate(PeerCredentials peer, ObjectNode message) throws ProtocolException {
        long jobId = number(message, "job", 1, MAX_JOB_ID);
        JsonNode to = message.get("to");
        if (to != null && (!to.isTextual() || !to.textValue().matches("[A-Za-z0-9._-]{1,255}"))) {
            throw new ProtocolException(ErrorCode.MALFORMED, "\"to\" must be a node name (leave it out to let Slurm choose)");
        }
        String target = to == null ? null : to.textValue();
        TransferMode mode = null;
        if (message.has("mode")) {
            try {
                mode = TransferMode.fromWireName(message.get("mode").asText());
            } catch (IllegalArgumentException e) {
                throw new ProtocolException(ErrorCode.MALFORMED, e.getMessage());
            }
        }
        JobRecord job = registry.job(jobId).orElseThrow(() ->
                new ProtocolException(ErrorCode.UNKNOWN_JOB, "job " + jobId + " is not registered on this node"));
        if (!authorizer.mayAccess(peer, job)) {
            throw new ProtocolException(ErrorCode.NOT_PERMITTED, "job " + jobId + " is not yours: not permitted");
        }
        LOG.info("migration of job " + jobId + " to " + (target == null ? "a node Slurm chooses" : target) + " asked by " + peer);
        MigrationReport report;
        try {
            report = migrations.migrate(jobId, target, mode);
        } catch (MigrationException e) {
            throw new ProtocolException(ErrorCode.fromMigration(e.reason()), e.getMessage());
        }
        ObjectNode reply = json.createObjectNode();
        reply.set("migration", json.valueToTree(report));
        return reply;
    }

    private ObjectNode history(PeerCredentials peer, ObjectNode message) throws ProtocolException {
        long limit = message.has("limit") ? number(message, "limit", 1, MAX_HISTORY) : MAX_HISTORY;
        ObjectNode reply = json.createObjectNode();
        ArrayNode listed = reply.putArray("migrations");
        history.get().stream()
                .filter(report -> authorizer.mayAccess(peer, report.uid()))
                .limit(limit)
                .forEach(report -> listed.add(json.valueToTree(report)));
        return reply;
    }

    // --- helpers ----------------------------------------------------------------------------------

    private void requireRegistrar(PeerCredentials peer, String request) throws ProtocolException {
        if (!authorizer.mayRegister(peer)) {
            throw new ProtocolException(ErrorCode.NOT_PERMITTED,
                    request + " is for slurmstepd (root or SlurmUser) only: not permitted");
        }
    }

    /**
     * What a registration answers besides its status: nothing. slurmstepd's plugin reads only the
     * status, into a buffer of {@value #REGISTRATION_REPLY_MAX_BYTES} bytes; the job record would
     * carry the container manifest, which grows with the job's argv and paths without bound.
     */
    private ObjectNode registrationReply() {
        return json.createObjectNode();
    }

    private ObjectNode jobReply(JobRecord job) {
        ObjectNode reply = json.createObjectNode();
        reply.set("job", json.valueToTree(job));
        return reply;
    }

    private ObjectNode withVersionFirst(ObjectNode body) {
        ObjectNode reply = json.createObjectNode();
        reply.put("version", PROTOCOL_VERSION);
        reply.put("status", body.remove("status").asText());
        reply.setAll(body);
        return reply;
    }

    private static long number(ObjectNode message, String field, long minimum, long maximum) throws ProtocolException {
        JsonNode value = message.get(field);
        if (value == null) {
            throw new ProtocolException(ErrorCode.MALFORMED, "missing \"" + field + "\"");
        }
        if (!value.isIntegralNumber() || !value.canConvertToLong()
                || value.longValue() < minimum || value.longValue() > maximum) {
            throw new ProtocolException(ErrorCode.MALFORMED,
                    "\"" + field + "\" must be an integer from " + minimum + " to " + maximum + ", got " + value);
        }
        return value.longValue();
    }

    /** Slurm's step names: a step number or one of its special steps. */
    private static String stepId(ObjectNode message) throws ProtocolException {
        JsonNode value = message.get("step");
        if (value == null || !value.isTextual()) {
            throw new ProtocolException(ErrorCode.MALFORMED, "missing \"step\" (a string)");
        }
        String step = value.textValue();
        if (!List.of("batch", "extern", "interactive").contains(step) && !step.matches("[0-9]{1,10}")) {
            throw new ProtocolException(ErrorCode.MALFORMED,
                    "\"step\" must be a step number, \"batch\", \"extern\" or \"interactive\", got \"" + step + "\"");
        }
        return step;
    }

    private static JobRecord registryCall(RegistryCall call) throws ProtocolException, IOException {
        try {
            return call.run();
        } catch (RegistryException e) {
            ErrorCode code = switch (e.reason()) {
                case UNKNOWN_JOB -> ErrorCode.UNKNOWN_JOB;
                case UNKNOWN_STEP -> ErrorCode.UNKNOWN_STEP;
                case CONFLICT -> ErrorCode.CONFLICT;
            };
            throw new ProtocolException(code, e.getMessage());
        }
    }

    @FunctionalInterface
    private interface RegistryCall {
        JobRecord run() throws RegistryException, IOException;
    }

    @FunctionalInterface
    private interface Action {
        ObjectNode handle(PeerCredentials peer, ObjectNode message) throws ProtocolException, IOException;
    }

    private record RequestType(Set<String> fields, Action action) {}
}
