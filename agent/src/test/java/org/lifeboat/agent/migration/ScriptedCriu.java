package org.lifeboat.agent.migration;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.lifeboat.agent.criu.Checkpointer;
import org.lifeboat.agent.criu.Criu;
import org.lifeboat.agent.criu.CriuException;

/**
 * CRIU as the engine sees it, without a kernel: a dump freezes the fake node's container, writes
 * an image and then runs the real post-dump action script the agent installed, exactly as CRIU
 * does, so the decision travels the same files. Commit (exit 0) leaves the tree to be killed;
 * rollback (exit 1) resumes it and fails the dump, as CRIU does.
 */
final class ScriptedCriu implements Checkpointer {

    private final FakeNode node;
    private final List<String> calls = new ArrayList<>();
    private volatile String dumpFailure;
    private volatile CheckedRunnable duringDump = () -> { };

    /** Something the test checks while CRIU dumps, as CRIU would find the node then. */
    interface CheckedRunnable {
        void run() throws Exception;
    }

    void duringDump(CheckedRunnable check) {
        duringDump = check;
    }

    ScriptedCriu(FakeNode node) {
        this.node = node;
    }

    /** The next dump fails before post-dump, as a CRIU refusing the tree does: it gives the tree back. */
    void failDump(String message) {
        dumpFailure = message;
    }

    synchronized List<String> calls() {
        return List.copyOf(calls);
    }

    @Override
    public void dump(Criu.DumpSpec spec) throws CriuException {
        record("dump " + spec.imageDirectory().getFileName() + spec.pageServer().map(address -> " page-server").orElse(""));
        node.setState("T");
        if (dumpFailure != null) {
            node.setState("S");
            throw new CriuException("criu dump failed: " + dumpFailure);
        }
        try {
            duringDump.run();
            Files.writeString(spec.imageDirectory().resolve("inventory.img"), "images of pid " + spec.initPid());
            ProcessBuilder builder = new ProcessBuilder("sh", spec.actionScript().toString()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD);
            builder.environment().put("CRTOOLS_SCRIPT_ACTION", "post-dump");
            builder.environment().put("CRTOOLS_IMAGE_DIR", spec.imageDirectory().toString());
            Process script = builder.start();
            script.getOutputStream().close();
            if (!script.waitFor(60, TimeUnit.SECONDS)) {
                script.destroyForcibly();
                throw new CriuException("the post-dump script did not decide within 60 s");
            }
            if (spec.lazyPages()) {
                // CRIU serves the memory whatever the script said, until the target has it all (or the relay ends),
                // then gives back the tree it still holds: one the agent stopped stays stopped.
                record("serve lazy pages");
                if (script.exitValue() != 0) {
                    throw new CriuException("criu dump ended with " + script.exitValue() + " after serving its lazy pages");
                }
                return;
            }
            if (script.exitValue() != 0) {
                node.setState("S");
                throw new CriuException("criu dump ended with 1: the action script rolled back");
            }
        } catch (CriuException e) {
            throw e;
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new CriuException("scripted dump: " + e.getMessage(), e);
        }
    }

    @Override
    public long restore(Criu.RestoreSpec spec) {
        throw new AssertionError("the source side never restores");
    }

    @Override
    public Criu.PageServer startPageServer(Path imageDirectory, Path socketDirectory, Duration timeout) {
        throw new AssertionError("the source side never starts a page server");
    }

    private synchronized void record(String call) {
        calls.add(call);
    }
}
