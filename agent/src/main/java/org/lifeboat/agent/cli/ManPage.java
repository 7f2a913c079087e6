package org.lifeboat.agent.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import picocli.CommandLine;
import picocli.CommandLine.Help;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * lifeboat(1): one man page for the whole command line, written in roff from the same picocli model
 * that prints --help, so the two cannot drift apart. Each command is a subsection with its synopsis,
 * description, arguments, options and exit codes.
 */
final class ManPage {

    private final CommandLine lifeboat;
    private final String version;

    ManPage(CommandLine lifeboat, String version) {
        this.lifeboat = Objects.requireNonNull(lifeboat, "lifeboat");
        this.version = Objects.requireNonNull(version, "version");
    }

    String roff() {
        CommandSpec root = lifeboat.getCommandSpec();
        List<String> page = new ArrayList<>();
        page.add(".TH LIFEBOAT 1 \"\" \"lifeboat " + escape(version) + "\" \"Lifeboat\"");
        page.add(".SH NAME");
        page.add("lifeboat \\- " + escape(String.join(" ", root.usageMessage().description())));
        page.add(".SH SYNOPSIS");
        page.add(".B lifeboat");
        page.add("\\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGUMENTS\\fR]");
        page.add(".SH DESCRIPTION");
        page.add("Every command takes \\fB\\-h\\fR, \\fB\\-\\-help\\fR and \\fB\\-V\\fR, \\fB\\-\\-version\\fR."
                + " Those that talk to the node's agent read its socket, HTTP address and prediction token file from"
                + " \\fI/etc/lifeboat/agent.yaml\\fR when not given and the file can be read."
                + " With \\fB\\-\\-json\\fR a command prints one JSON object with \"version\":1 first, and on failure"
                + " {\"version\":1,\"error\":{\"code\":...,\"message\":...}}, with the same exit code.");
        page.add(".SH COMMANDS");
        for (CommandLine command : lifeboat.getSubcommands().values()) {
            command(page, command.getCommandSpec());
        }
        page.add(".SH FILES");
        page.add(".TP");
        page.add(".I /etc/lifeboat/agent.yaml");
        page.add("The agent's configuration; every key is explained in it."
                + " \\fBlifeboat agent \\-\\-check\\-config\\fR checks it.");
        page.add(".TP");
        page.add(".I /etc/lifeboat/prediction\\-token");
        page.add("The token the agent demands of predictions (mode 0600, created by the agent).");
        page.add(".TP");
        page.add(".I /run/lifeboat/agent.sock");
        page.add("The agent's socket.");
        page.add(".SH EXIT STATUS");
        page.add("Each command's codes are listed under COMMANDS; 2 is always an invalid command line.");
        page.add(".SH SEE ALSO");
        page.add(".BR scontrol (1),");
        page.add(".BR squeue (1),");
        page.add(".BR criu (8)");
        return String.join("\n", page) + "\n";
    }

    private static void command(List<String> page, CommandSpec command) {
        Help help = new Help(command, new Help.ColorScheme.Builder(Help.Ansi.OFF).build());
        page.add(".SS " + escape(command.qualifiedName()));
        page.add(".nf");
        page.add(escape(help.synopsis(0).strip().replaceFirst("^Usage: ", "")));
        page.add(".fi");
        for (String paragraph : command.usageMessage().description()) {
            page.add(".PP");
            page.add(escape(paragraph));
        }
        for (ArgSpec parameter : command.positionalParameters()) {
            if (!parameter.hidden()) {
                page.add(".TP");
                page.add("\\fI" + escape(parameter.paramLabel()) + "\\fR");
                page.add(escape(String.join(" ", parameter.renderedDescription())));
            }
        }
        List<OptionSpec> options = new ArrayList<>(command.options());
        options.sort(help.createDefaultOptionSort());
        for (OptionSpec option : options) {
            if (!option.hidden()) {
                page.add(".TP");
                page.add(optionLabel(option));
                page.add(escape(String.join(" ", option.renderedDescription())));
            }
        }
        Map<String, String> exitCodes = command.usageMessage().exitCodeList();
        if (!exitCodes.isEmpty()) {
            page.add(".PP");
            page.add("Exit codes:");
            // One line each, as in --help.
            page.add(".PD 0");
            exitCodes.forEach((code, meaning) -> {
                page.add(".TP");
                page.add(".B " + escape(code.strip()));
                page.add(escape(meaning));
            });
            page.add(".PD");
        }
    }

    private static String optionLabel(OptionSpec option) {
        List<String> names = new ArrayList<>();
        for (String name : option.names()) {
            names.add("\\fB" + escape(name).replace("-", "\\-") + "\\fR");
        }
        String label = String.join(", ", names);
        return option.arity().max() > 0 ? label + "=\\fI" + escape(option.paramLabel()) + "\\fR" : label;
    }

    /** Text as roff reads it literally: backslashes escaped, and no line taken for a request. */
    private static String escape(String text) {
        String escaped = text.replace("\\", "\\e");
        return escaped.lines()
                .map(line -> line.startsWith(".") || line.startsWith("'") ? "\\&" + line : line)
                .reduce((first, second) -> first + "\n" + second)
                .orElse("");
    }
}
