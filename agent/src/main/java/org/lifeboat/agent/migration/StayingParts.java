package org.lifeboat.agent.migration;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;
import org.lifeboat.agent.json.AgentJson;
import org.lifeboat.agent.peer.PeerClient;

/**
 * The parts of a job on several nodes that stay on their nodes while one node's part moves (the
 * coordinator's view). A requeue ends every step of the job on every node, so each staying part is
 * checkpointed and restored in place by its own node's agent ("part-move"), held frozen and ready,
 * and resumed once the coordinator has requeued the job ("part-decision": commit), or given back
 * where it was ("part-decision": abort) when anything failed before.
 */
final class StayingParts {

    static final String MOVE_REQUEST = "part-move";
    static final String DECISION_REQUEST = "part-decision";
    private static final Logger LOG = Logger.getLogger(StayingParts.class.getName());

    private final String migrationId;
    private final long jobId;
    private final Map<String, PeerClient> agents;
    private final Map<String, CompletableFuture<Void>> ready = new LinkedHashMap<>();
    private boolean decided;

    /** @param agents each staying node's agent */
    StayingParts(String migrationId, long jobId, Map<String, PeerClient> agents) {
        this.migrationId = Objects.requireNonNull(migrationId, "migrationId");
        this.jobId = jobId;
        this.agents = Map.copyOf(agents);
    }

    List<String> nodes() {
        return List.copyOf(agents.keySet());
    }

    /** Asks every staying node to checkpoint its part in place; each answers once its part is ready. */
    synchronized void start(String coordinator) {
        for (Map.Entry<String, PeerClient> agent : agents.entrySet()) {
            ObjectNode fields = AgentJson.mapper().createObjectNode()
                    .put("migration", migrationId).put("job", jobId).put("coordinator", coordinator);
            CompletableFuture<Void> part = new CompletableFuture<>();
            ready.put(agent.getKey(), part);
            Thread call = new Thread(() -> {
                try {
                    agent.getValue().call(MOVE_REQUEST, fields);
                    part.complete(null);
                } catch (Exception e) {
                    part.completeExceptionally(e);
                }
            }, "part-move-" + agent.getKey());
            call.setDaemon(true);
            call.start();
        }
    }

    /** Waits until every staying part is checkpointed and held; the first that failed fails this. */
    void awaitReady(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Map.Entry<String, CompletableFuture<Void>> part : readyParts().entrySet()) {
            try {
                part.getValue().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (ExecutionException e) {
                throw new MigrationException(MigrationException.Reason.UNMOVABLE, "the job's part on " + part.getKey()
                        + " cannot be held in place: " + e.getCause().getMessage());
            } catch (TimeoutException e) {
                throw new MigrationException(MigrationException.Reason.INTERNAL, "the job's part on " + part.getKey()
                        + " was not ready within " + timeout.toSeconds() + " s");
            }
        }
    }

    /**
     * Tells every staying part whether the job was requeued (resume your restored copy) or not (go
     * on as you were). Once only: a part that does not hear it asks Slurm itself.
     */
    synchronized void decide(boolean commit) {
        if (decided) {
            return;
        }
        decided = true;
        for (Map.Entry<String, PeerClient> agent : agents.entrySet()) {
            try {
                agent.getValue().call(DECISION_REQUEST, AgentJson.mapper().createObjectNode()
                        .put("migration", migrationId).put("commit", commit));
            } catch (Exception e) {
                LOG.warning("migration " + migrationId + ": the part on " + agent.getKey() + " was not told to "
                        + (commit ? "resume" : "go on") + ": " + e.getMessage() + " (it asks Slurm itself after a while)");
            }
        }
    }

    private synchronized Map<String, CompletableFuture<Void>> readyParts() {
        return new LinkedHashMap<>(ready);
    }
}
