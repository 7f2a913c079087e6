package org.lifeboat.agent.wiring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.config.AgentConfig;
import org.lifeboat.agent.config.AgentConfigLoader;
import org.lifeboat.agent.container.RestoreRoot;
import org.lifeboat.agent.lifecycle.PeriodicTask;
import org.lifeboat.agent.migration.IncomingMigrations;
import org.lifeboat.agent.migration.MigrationService;
import org.lifeboat.agent.migration.MigrationDriver;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.agent.process.CommandRunner;
import org.lifeboat.agent.process.SystemUsers;
import org.lifeboat.agent.slurm.SlurmClient;

/** The wiring, built from a configuration on temporary directories, with commands that run nothing. */
class AgentWiringTest {

    private static final String CRIU = "/opt/criu/sbin/criu";
    // Several on purpose: one per recovery step, one per periodic task (drain watcher, dependency checks, silent
    // migration sweep), one problem log per detector, one endpoint per path.
    private static final Set<String> MANY_BY_DESIGN = Set.of(RecoveryStep.class.getName(), PeriodicTask.class.getName(),
            "org.lifeboat.predictor.detect.ProblemLog", "org.lifeboat.predictor.http.JsonEndpoint");
    // What the old wiring built twice, and the engine, which shows the walk reached that deep.
    private static final List<Class<?>> ONCE = List.of(SlurmClient.class, RestoreRoot.class, SystemUsers.class,
            CommandRunner.class, MigrationService.class, MigrationDriver.class, IncomingMigrations.class, AgentThreads.class);

    @TempDir
    Path directory;

    // Answers CRIU's probe as a CRIU that passes its check; every other command fails, as Slurm would with no controller.
    private final CommandRunner commands = (command, timeout) -> command.get(0).equals(CRIU)
            ? new CommandResult(command, 0, command.contains("--version") ? "Version: 4.1.1\n" : "", "")
            : new CommandResult(command, 1, "", "no controller in a unit test");

    @Test
    void everyCollaboratorIsBuiltOnce() throws Exception {
        AgentWiring agent = AgentWiring.build(config(), "1.2.3", commands, Map.of());

        ObjectGraph graph = new ObjectGraph(agent);

        Map<String, Long> builtMoreThanOnce = graph.ours().stream()
                .filter(object -> !object.getClass().isRecord() && !object.getClass().isEnum()
                        && !object.getClass().isHidden() && !MANY_BY_DESIGN.contains(object.getClass().getName()))
                .collect(Collectors.groupingBy(object -> object.getClass().getName(), TreeMap::new, Collectors.counting()));
        builtMoreThanOnce.values().removeIf(count -> count == 1);
        assertEquals(Map.of(), builtMoreThanOnce);
        for (Class<?> type : ONCE) {
            assertEquals(1, graph.instancesOf(type).size(), type.getName());
        }
        agent.lifeCycle().stop();
    }

    @Test
    void stoppingTheStartedAgentShutsDownEveryPoolItOwns() throws Exception {
        AgentWiring agent = AgentWiring.build(config(), "1.2.3", commands, Map.of());
        List<AgentThreads> threads = new ObjectGraph(agent).instancesOf(AgentThreads.class);
        assertEquals(1, threads.size());

        agent.lifeCycle().start();
        agent.lifeCycle().stop();

        for (ExecutorService pool : threads.get(0).pools()) {
            assertTrue(pool.isTerminated(), pool.toString());
        }
    }

    private AgentConfig config() throws Exception {
        Path checkpoints = Files.createDirectories(directory.resolve("checkpoints"));
        Path file = Files.writeString(directory.resolve("agent.yaml"), String.join("\n",
                "node-name: node1",
                "state-directory: " + directory.resolve("state"),
                "checkpoint-directory: " + checkpoints,
                "resume-directory: " + directory.resolve("resume"),
                "containers-directory: " + directory.resolve("containers"),
                "socket-path: " + directory.resolve("run/agent.sock"),
                "criu-path: " + CRIU,
                "slurm-user: \"0\"",
                "http:",
                "  port: 0",
                "peer:",
                "  address: 127.0.0.1",
                "  port: 0",
                "  authentication: none",
                "predictor:",
                "  token-file: " + directory.resolve("prediction-token"),
                "  edac:",
                "    enabled: false",
                "  ipmi:",
                "    enabled: false",
                ""));
        return new AgentConfigLoader().load(file);
    }
}
