package org.lifeboat.agent.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** The man page and the bash completion the build writes, from the same model as --help. */
class CommandLineDocsTest {

    @TempDir
    Path directory;

    private String manPage;
    private Path completion;

    @BeforeEach
    void writeThem() throws IOException {
        CommandLineDocs.main(new String[] {directory.toString(), "1.2.3"});
        manPage = Files.readString(directory.resolve("man/lifeboat.1"));
        completion = directory.resolve("bash-completion/lifeboat");
    }

    @Test
    void theManPageHasEveryCommandOptionAndExitCode() {
        assertTrue(manPage.startsWith(".TH LIFEBOAT 1 \"\" \"lifeboat 1.2.3\" \"Lifeboat\"\n"), manPage);
        CommandLine lifeboat = LifeboatCommand.commandLine();
        for (CommandLine command : lifeboat.getSubcommands().values()) {
            assertTrue(manPage.contains("\n.SS " + command.getCommandSpec().qualifiedName() + "\n"), command.getCommandName());
            for (OptionSpec option : command.getCommandSpec().options()) {
                assertTrue(manPage.contains("\\fB" + option.longestName().replace("-", "\\-") + "\\fR"),
                        command.getCommandName() + " " + option.longestName());
            }
            command.getCommandSpec().usageMessage().exitCodeList().forEach((code, meaning) ->
                    assertTrue(manPage.contains(".B " + code.strip() + "\n" + meaning + "\n"), command.getCommandName() + " " + code));
        }
    }

    @Test
    void theManPageGivesTheBuiltInDefaultsNotThoseOfTheBuildHost() {
        assertTrue(manPage.contains("else /run/lifeboat/agent.sock)"), manPage);
        assertTrue(manPage.contains("(default: lifeboat evacuate)"), manPage);
    }

    @Test
    void groffReadsTheManPageWithoutAWarning() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/groff")), "groff is not installed");

        Process groff = new ProcessBuilder("groff", "-man", "-Tutf8", "-ww", "-z", directory.resolve("man/lifeboat.1").toString())
                .redirectErrorStream(true).start();
        String output = new String(groff.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

        assertTrue(groff.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, groff.exitValue(), output);
        assertEquals("", output);
    }

    @Test
    void theCompletionIsSourcedNotRun() throws Exception {
        assertFalse(Files.readString(completion).startsWith("#!"), "a sourced file has no interpreter line");
    }

    @Test
    void bashCompletesTheCommandsTheirOptionsAndTheModes() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "bash is not installed");

        assertEquals("agent status migrate evacuate predict history", complete("lifeboat", ""));
        assertTrue(complete("lifeboat", "agent", "--").contains("--check-config"));
        assertEquals("diskless shared-fs post-copy", complete("lifeboat", "migrate", "42", "--mode", ""));
    }

    /** What the completion offers for the last word, as bash would ask for it at the end of the line. */
    private String complete(String... words) throws Exception {
        String line = String.join(" ", words);
        String script = "source \"$1\"; shift; COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMP_LINE=\"$*\";"
                + " COMP_POINT=${#COMP_LINE}; _complete_lifeboat lifeboat \"${COMP_WORDS[COMP_CWORD]}\""
                + " \"${COMP_WORDS[COMP_CWORD-1]}\" 2>/dev/null; echo \"${COMPREPLY[*]}\"";
        List<String> command = new java.util.ArrayList<>(List.of("bash", "-c", script, "bash", completion.toString()));
        command.addAll(List.of(words));
        Process bash = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(bash.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(bash.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, bash.exitValue(), line + ": " + output);
        return output;
    }
}
