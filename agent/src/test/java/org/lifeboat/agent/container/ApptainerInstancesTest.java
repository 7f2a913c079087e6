package org.lifeboat.agent.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lifeboat.agent.process.FakeCommandRunner;
import org.lifeboat.agent.process.SystemUsers;

class ApptainerInstancesTest {

    private static final String LISTING = """
            {
            \t"instances": [
            \t\t{"instance": "other", "pid": 500, "img": "/s/a.sif", "ip": "", "logErrPath": "/e", "logOutPath": "/o"},
            \t\t{"instance": "mine", "pid": 600, "img": "/s/b.sif", "ip": "", "logErrPath": "/e", "logOutPath": "/o"}
            \t]
            }
            """;

    @TempDir
    Path proc;

    private final FakeCommandRunner commands = new FakeCommandRunner();
    private final ApptainerInstances instances = new ApptainerInstances("apptainer", Path.of("/usr/libexec/lifeboat/lifeboat-adopt-instance"),
            Path.of("/proc"), Path.of("/sys"), commands, new SystemUsers(commands),
            new ContainerProcesses(Path.of("/proc"), commands));

    @Test
    void rootsInstancesAreListedDirectly() throws Exception {
        assertEquals(List.of("apptainer", "instance", "list", "--json"), instances.listCommand(0));
        assertEquals(List.of(), commands.commands());
    }

    @Test
    void aUsersInstancesAreListedAsThatUserWithTheirHomeAndNothingOfRoots() throws Exception {
        commands.answer(0, "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n", "");

        List<String> command = instances.listCommand(1000);

        assertEquals(List.of("getent", "passwd", "1000"), commands.commands().get(0));
        assertEquals(List.of("setpriv", "--reuid=1000", "--regid=1000", "--init-groups", "env", "-i", "HOME=/home/alice",
                "USER=alice", "PATH=/usr/local/bin:/usr/bin:/bin", "apptainer", "instance", "list", "--json"), command);
    }

    @Test
    void onlyAnInstanceInTheJobsCgroupIsTheJobs() throws Exception {
        ApptainerInstances inProc = new ApptainerInstances("apptainer", Path.of("/helpers/lifeboat-adopt-instance"), proc,
                Path.of("/sys"), commands, new SystemUsers(commands), new ContainerProcesses(proc, commands));
        Files.createDirectories(proc.resolve("500"));
        Files.writeString(proc.resolve("500/cgroup"), "4:memory:/slurm_node1/uid_0/job_41/step_batch\n");
        commands.answer(0, LISTING, "");

        assertTrue(inProc.find(42, 0).isEmpty(), "an instance of job 41 was taken for job 42's");
        assertEquals(1, commands.commands().size(), "something was run beside the listing: " + commands.commands());
    }

    @Test
    void onCgroupV2AnInstanceOutsideSlurmsTreeIsNotTheJobs() throws Exception {
        ApptainerInstances inProc = new ApptainerInstances("apptainer", Path.of("/helpers/lifeboat-adopt-instance"), proc,
                Path.of("/sys"), commands, new SystemUsers(commands), new ContainerProcesses(proc, commands));
        Files.createDirectories(proc.resolve("500"));
        Files.createDirectories(proc.resolve("600"));
        // Named after job 42 by its owner, in the subtree systemd delegates to them.
        Files.writeString(proc.resolve("500/cgroup"), "0::/user.slice/user-1000.slice/user@1000.service/app.slice/job_42/step_0\n");
        // Where Apptainer 1.2 and later start a user's instance when systemd manages cgroups: a scope
        // "user.slice:apptainer:PID" of the user's systemd (internal/pkg/cgroups/manager_linux.go).
        Files.writeString(proc.resolve("600/cgroup"), "0::/user.slice/user-1000.slice/user@1000.service/user.slice/"
                + "apptainer-1234.scope\n");
        commands.answer(0, LISTING, "");

        assertTrue(inProc.find(42, 0).isEmpty(), "an instance outside Slurm's tree was taken for job 42's");
        assertEquals(1, commands.commands().size(), "something was run beside the listing: " + commands.commands());
    }

    @Test
    void noApptainerMeansNoInstance() throws Exception {
        ApptainerInstances inProc = new ApptainerInstances("apptainer", Path.of("/helpers/lifeboat-adopt-instance"), proc,
                Path.of("/sys"), commands, new SystemUsers(commands), new ContainerProcesses(proc, commands));
        commands.failToRun("No such file or directory");

        assertTrue(inProc.find(42, 0).isEmpty());
    }
}
