package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real script, run by sh as CRIU would run it at post-dump. */
class PostDumpHookTest {

    // No process has this pid (above the kernel's pid_max limit of 2^22).
    private static final long DEAD_AGENT = 4_194_305L;

    @TempDir
    Path temporary;

    @Test
    void whileTheAgentLivesTheScriptWaitsForItsCommit() throws Exception {
        Path images = control("images");
        Process hook = start(PostDumpHook.install(temporary), images);

        awaitDumped(images);
        assertTrue(hook.isAlive(), "the script must hold the tree until the agent decides");
        PostDumpHook.commit(images);
        assertTrue(hook.waitFor(5, TimeUnit.SECONDS));
        assertEquals(0, hook.exitValue(), "commit: CRIU kills the source copy");
    }

    @Test
    void aRollbackMakesCriuResumeTheTree() throws Exception {
        Path images = control("images");
        Process hook = start(PostDumpHook.install(temporary), images);

        awaitDumped(images);
        PostDumpHook.rollBack(images);
        assertTrue(hook.waitFor(5, TimeUnit.SECONDS));
        assertEquals(1, hook.exitValue());
    }

    @Test
    void aDeadAgentGivesTheJobBackAtOnce() throws Exception {
        Path images = control("images");
        Process hook = start(PostDumpHook.install(temporary, DEAD_AGENT, "12345"), images);

        assertTrue(hook.waitFor(5, TimeUnit.SECONDS), "a dead agent must not leave the job frozen for the full limit");
        assertEquals(1, hook.exitValue(), "rollback: the source copy is the job");
    }

    @Test
    void aDeadAgentAfterTheRequeueStartedLeavesTheCopyFrozen() throws Exception {
        Path images = control("images");
        PostDumpHook.requeuing(images);
        Process hook = start(PostDumpHook.install(temporary, DEAD_AGENT, "12345"), images);

        awaitDumped(images);
        Thread.sleep(300);
        assertTrue(hook.isAlive(), "Slurm may be starting the job elsewhere: resuming here could run it twice");
        PostDumpHook.commit(images);
        assertTrue(hook.waitFor(5, TimeUnit.SECONDS));
        assertEquals(0, hook.exitValue());
    }

    @Test
    void theDecisionsAreInTheControlDirectoryNamedAsTheImagesNotBesideImagesElsewhere() throws Exception {
        Path images = Files.createDirectories(temporary.resolve("shared/job7-abc"));
        Path controlRoot = Files.createDirectories(temporary.resolve("outgoing"));
        Path control = Files.createDirectories(PostDumpHook.marks(PostDumpHook.controlDirectory(controlRoot, images))).getParent();
        // CRIU names the image directory by a descriptor of its own, as /proc/PID/fd/N, a link to it.
        Path descriptor = Files.createSymbolicLink(temporary.resolve("fd-3"), images);
        Process hook = start(PostDumpHook.install(controlRoot), descriptor);

        awaitDumped(control);
        assertEquals(controlRoot.resolve("job7-abc"), control);
        assertTrue(hook.isAlive());
        PostDumpHook.commit(control);
        assertTrue(hook.waitFor(5, TimeUnit.SECONDS));
        assertEquals(0, hook.exitValue());
        try (var left = Files.list(images)) {
            assertEquals(0, left.count(), "nothing written beside the images");
        }
    }

    @Test
    void otherCriuActionsPassStraightThrough() throws Exception {
        ProcessBuilder builder = new ProcessBuilder("sh", PostDumpHook.install(temporary).toString());
        builder.environment().put("CRTOOLS_SCRIPT_ACTION", "pre-dump");
        Process hook = builder.start();
        assertTrue(hook.waitFor(5, TimeUnit.SECONDS));
        assertEquals(0, hook.exitValue());
    }

    /** A control directory as the agent makes it, with the directory its script marks the dump in. */
    private Path control(String name) throws Exception {
        Path control = temporary.resolve(name);
        Files.createDirectories(PostDumpHook.marks(control));
        return control;
    }

    private static Process start(Path script, Path images) throws Exception {
        ProcessBuilder builder = new ProcessBuilder("sh", script.toString());
        builder.environment().put("CRTOOLS_SCRIPT_ACTION", "post-dump");
        builder.environment().put("CRTOOLS_IMAGE_DIR", images.toString());
        return builder.start();
    }

    private static void awaitDumped(Path images) throws InterruptedException {
        for (int i = 0; i < 100 && !PostDumpHook.dumped(images); i++) {
            Thread.sleep(20);
        }
        assertTrue(PostDumpHook.dumped(images), "the script never marked the dump complete");
    }
}
