package org.lifeboat.agent.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.process.FakeCommandRunner;
import org.lifeboat.agent.slurm.SlurmClient;

class RegistryReconcilerTest {

    private static final List<String> SQUEUE = List.of("squeue", "--noheader", "--nodelist=node-7",
            "--states=RUNNING,COMPLETING,SUSPENDED,CONFIGURING", "--format=%A");

    @TempDir
    Path state;

    private final FakeCommandRunner commands = new FakeCommandRunner();
    private JobRegistry registry;
    private RegistryReconciler reconciler;

    @BeforeEach
    void registerThreeJobs() throws Exception {
        registry = new JobRegistry(new RegistryStore(state), Clock.systemUTC());
        for (long job : List.of(11L, 12L, 13L)) {
            registry.stepStarted(job, 1000, 100, "batch", 0, 1);
        }
        reconciler = new RegistryReconciler(registry, new SlurmClient(commands), "node-7");
    }

    @Test
    void jobsSqueueNoLongerListsAreDroppedAndTheRestKept() throws Exception {
        commands.answer(0, "11\n13\n99\n", "");

        reconciler.reconcile();

        assertEquals(List.of(11L, 13L), jobIds(registry));
        assertEquals(List.of(SQUEUE), commands.commands());
    }

    @Test
    void theDroppedJobsStayDroppedAfterARestart() throws Exception {
        commands.answer(0, "12\n", "");

        reconciler.reconcile();

        assertEquals(List.of(12L), jobIds(new JobRegistry(new RegistryStore(state), Clock.systemUTC())));
    }

    @Test
    void anEmptySqueueDropsEveryJob() throws Exception {
        commands.answer(0, "", "");

        reconciler.reconcile();

        assertEquals(List.of(), jobIds(registry));
    }

    @Test
    void aFailingSqueueKeepsEveryJob() throws Exception {
        commands.answer(1, "", "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n");

        reconciler.reconcile();

        assertEquals(List.of(11L, 12L, 13L), jobIds(registry));
        assertEquals(List.of(SQUEUE), commands.commands());
    }

    @Test
    void squeueOutputThatCannotBeUnderstoodKeepsEveryJob() throws Exception {
        commands.answer(0, "11\nsqueue: error: something odd\n", "");

        reconciler.reconcile();

        assertEquals(List.of(11L, 12L, 13L), jobIds(registry));
    }

    @Test
    void aSqueueThatCannotBeRunKeepsEveryJob() throws Exception {
        commands.failToRun("cannot run squeue: No such file or directory");

        reconciler.reconcile();

        assertEquals(List.of(11L, 12L, 13L), jobIds(registry));
    }

    @Test
    void anEmptyRegistryDoesNotAskSlurmAtAll() throws Exception {
        Path empty = Files.createDirectory(state.resolve("empty"));
        JobRegistry nothing = new JobRegistry(new RegistryStore(empty), Clock.systemUTC());

        new RegistryReconciler(nothing, new SlurmClient(commands), "node-7").reconcile();

        assertEquals(List.of(), commands.commands());
    }

    @Test
    void aRegistryThatCannotSaveTheDropIsAnIOExceptionAndKeepsEveryJob() throws Exception {
        commands.answer(0, "11\n", "");
        Files.createDirectory(state.resolve("registry.json.tmp"));

        assertThrows(IOException.class, reconciler::reconcile);

        assertEquals(List.of(11L, 12L, 13L), jobIds(registry));
    }

    private static List<Long> jobIds(JobRegistry registry) {
        return registry.jobs().stream().map(JobRecord::job).toList();
    }
}
