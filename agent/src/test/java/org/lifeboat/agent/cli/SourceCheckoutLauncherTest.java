package org.lifeboat.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** bin/lifeboat, in a copy of a checkout whose java only says how it was called. */
class SourceCheckoutLauncherTest {

    @TempDir
    Path checkout;

    private Path javaHome;

    @BeforeEach
    void copyTheLauncherAndMakeAJavaThatEchoes() throws Exception {
        Path launcher = Files.createDirectories(checkout.resolve("bin")).resolve("lifeboat");
        Files.copy(Path.of(System.getProperty("lifeboat.repo"), "bin", "lifeboat"), launcher);
        javaHome = checkout.resolve("jdk");
        Path java = Files.createDirectories(javaHome.resolve("bin")).resolve("java");
        Files.writeString(java, "#!/bin/sh\necho \"java $*\"\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @Test
    void withoutABuiltJarItSaysHowToBuildOneAndExits1() throws Exception {
        Result result = run(checkout.resolve("bin/lifeboat"), "status");

        assertEquals(1, result.exitCode());
        assertEquals("lifeboat: " + checkout.resolve("agent/target/lifeboat-agent.jar") + " is missing: build it with"
                + " `mvn -q package -DskipTests` in " + checkout + "\n", result.output());
    }

    @Test
    void runsTheBuiltJarWithTheArgumentsAndTheJavaOptions() throws Exception {
        Files.createDirectories(checkout.resolve("agent/target"));
        Files.writeString(checkout.resolve("agent/target/lifeboat-agent.jar"), "");

        Result result = run(checkout.resolve("bin/lifeboat"), "status", "--job", "42");

        assertEquals(0, result.exitCode(), result.output());
        assertEquals("java -Xmx64m -jar " + checkout.resolve("agent/target/lifeboat-agent.jar") + " status --job 42\n", result.output());
    }

    @Test
    void findsItsCheckoutThroughALink() throws Exception {
        Files.createDirectories(checkout.resolve("agent/target"));
        Files.writeString(checkout.resolve("agent/target/lifeboat-agent.jar"), "");
        Path link = Files.createSymbolicLink(Files.createDirectories(checkout.resolve("elsewhere")).resolve("lifeboat"),
                checkout.resolve("bin/lifeboat"));

        Result result = run(link, "--version");

        assertTrue(result.output().contains("-jar " + checkout.resolve("agent/target/lifeboat-agent.jar") + " --version"),
                result.output());
    }

    private Result run(Path launcher, String... arguments) throws Exception {
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of("sh", launcher.toString()));
        command.addAll(java.util.List.of(arguments));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        Map<String, String> environment = builder.environment();
        environment.put("JAVA_HOME", javaHome.toString());
        environment.put("JAVA_OPTS", "-Xmx64m");
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(30, TimeUnit.SECONDS));
        return new Result(process.exitValue(), output);
    }

    private record Result(int exitCode, String output) {}
}
