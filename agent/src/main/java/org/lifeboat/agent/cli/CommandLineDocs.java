package org.lifeboat.agent.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.lifeboat.agent.config.AgentConfigLoader;
import org.lifeboat.agent.process.ProcessCommandRunner;
import picocli.AutoComplete;
import picocli.CommandLine;

/**
 * Writes what a package installs beside the {@code lifeboat} command, from the command line itself:
 * the man page and the bash completion. The build runs it (exec-maven-plugin, package phase):
 * {@code DIR/man/lifeboat.1} and {@code DIR/bash-completion/lifeboat}, for
 * {@code /usr/share/man/man1/} and {@code /usr/share/bash-completion/completions/}.
 */
public final class CommandLineDocs {

    static final Path MAN_PAGE = Path.of("man", "lifeboat.1");
    static final Path BASH_COMPLETION = Path.of("bash-completion", "lifeboat");

    private CommandLineDocs() {}

    /** Arguments: the directory to write into (agent/target) and the version the man page names. */
    public static void main(String[] arguments) throws IOException {
        if (arguments.length != 2) {
            throw new IllegalArgumentException("usage: CommandLineDocs DIRECTORY VERSION");
        }
        write(Path.of(arguments[0]), arguments[1]);
    }

    static void write(Path directory, String version) throws IOException {
        // The built-in defaults, not those of the agent.yaml of the host that builds.
        CommandLine lifeboat = LifeboatCommand.withoutDefaultsFromTheNode(new AgentConfigLoader(), new ProcessCommandRunner());
        writeFile(directory.resolve(MAN_PAGE), new ManPage(lifeboat, version).roff());
        writeFile(directory.resolve(BASH_COMPLETION), sourcedScript(AutoComplete.bash("lifeboat", lifeboat)));
    }

    /** bash-completion sources the file, never runs it: without the #! line picocli starts it with. */
    static String sourcedScript(String script) {
        return script.startsWith("#!") ? script.substring(script.indexOf('\n') + 1) : script;
    }

    private static void writeFile(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }
}
