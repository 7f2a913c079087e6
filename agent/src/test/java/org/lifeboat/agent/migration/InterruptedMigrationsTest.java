package org.lifeboat.agent.migration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent that stopped during a post-copy move had stopped the job's tree itself (SIGSTOP, see
 * SourceCopy#serveLazyPages), and CRIU let the tree go when the relay ended with the agent: the
 * next start resumes it, unless the job went on elsewhere, and only if it is still the same process.
 */
class InterruptedMigrationsTest {

    @TempDir
    Path directory;

    private FakeNode node;
    private Path checkpoints;
    private Path control;

    @BeforeEach
    void aPostCopyMoveInterruptedBeforeItsRequeue() throws Exception {
        node = new FakeNode(directory.resolve("proc"), 1024);
        checkpoints = Files.createDirectories(directory.resolve("checkpoints"));
        CheckpointDirectories.prepare(checkpoints);
        control = Files.createDirectories(MigrationDriver.outgoingDirectory(checkpoints).resolve("job7-a1"));
        Files.createDirectories(PostDumpHook.marks(control));
        Files.writeString(PostDumpHook.marks(control).resolve(PostDumpHook.DUMPED), "");
        node.setState("T");
    }

    private InterruptedMigrations recovery() {
        return new InterruptedMigrations(checkpoints, Optional.empty(), (name, address) -> {
            throw new AssertionError("no target was recorded");
        }, node.processes());
    }

    @Test
    void theTreeThisAgentStoppedBeforeItsRequeueResumesWhereItWas() throws Exception {
        PostDumpHook.serveLazyPages(control, node.processes(), FakeNode.INIT_PID);

        recovery().recover();

        assertEquals("S", node.state());
        assertEquals(List.of("kill", "-CONT", Long.toString(FakeNode.INIT_PID)), node.commands().get(node.commands().size() - 1));
        assertFalse(Files.exists(control));
    }

    @Test
    void aPidNowOfAnotherProcessIsLeftAlone() throws Exception {
        Files.writeString(control.resolve(PostDumpHook.STOPPED_TREE), FakeNode.INIT_PID + " 12345\n");

        recovery().recover();

        assertEquals("T", node.state());
        assertEquals(List.of(), node.commands(), "a pid reused since the record was written is not this job's");
    }
}
