package org.lifeboat.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.lifeboat.testbed.Testbed;

/**
 * Every alert rule names its runbook in runbook_url, the runbook is there (docs/runbooks/ALERT.md)
 * and says what the alert means, how to check it and what to do; and no runbook is left without
 * its alert.
 */
class RunbooksTest {

    /** What the shipped rules put before each runbook's file name; sites replace it (the rules file says how). */
    private static final String RUNBOOK_BASE = "https://lifeboat.example.org/docs/runbooks/";
    private static final Path REPOSITORY = Testbed.locateRepository();
    private static final Path RUNBOOKS = REPOSITORY.resolve("docs/runbooks");
    private static final List<String> SECTIONS = List.of("## What it means", "## How to check", "## What to do");

    @Test
    void everyAlertLinksToItsOwnRunbookWhichSaysWhatItMeansHowToCheckAndWhatToDo() throws Exception {
        List<String> problems = new ArrayList<>();
        for (JsonNode alert : alerts()) {
            String name = alert.path("alert").asText();
            String url = alert.path("annotations").path("runbook_url").asText();
            if (!url.equals(RUNBOOK_BASE + name + ".md")) {
                problems.add(name + ": runbook_url is '" + url + "'");
                continue;
            }
            Path runbook = RUNBOOKS.resolve(name + ".md");
            if (!Files.isRegularFile(runbook)) {
                problems.add(name + ": no " + REPOSITORY.relativize(runbook));
                continue;
            }
            String text = Files.readString(runbook);
            if (!text.startsWith("# " + name + "\n")) {
                problems.add(runbook.getFileName() + " does not start with its alert's name as its title");
            }
            for (String section : SECTIONS) {
                if (!text.contains("\n" + section + "\n")) {
                    problems.add(runbook.getFileName() + " has no section '" + section + "'");
                }
            }
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void everyRunbookBelongsToAnAlertAndTheIndexListsEveryOne() throws Exception {
        Set<String> alerts = alerts().stream().map(alert -> alert.path("alert").asText()).collect(Collectors.toCollection(TreeSet::new));
        Set<String> runbooks;
        try (Stream<Path> files = Files.list(RUNBOOKS)) {
            runbooks = files.map(file -> file.getFileName().toString())
                    .filter(name -> !name.equals("README.md"))
                    .map(name -> name.replaceFirst("\\.md$", ""))
                    .collect(Collectors.toCollection(TreeSet::new));
        }

        assertEquals(alerts, runbooks);
        String index = Files.readString(RUNBOOKS.resolve("README.md"));
        for (String alert : alerts) {
            assertTrue(index.contains("[" + alert + ".md](" + alert + ".md)"), "docs/runbooks/README.md does not list " + alert);
        }
    }

    private static List<JsonNode> alerts() throws Exception {
        JsonNode rules = new YAMLMapper().readTree(REPOSITORY.resolve("config/prometheus/lifeboat-rules.yml").toFile());
        List<JsonNode> alerts = new ArrayList<>();
        rules.path("groups").forEach(group -> group.path("rules").forEach(rule -> {
            if (rule.has("alert")) {
                alerts.add(rule);
            }
        }));
        assertTrue(alerts.size() >= 12, "alerts read: " + alerts.size());
        return alerts;
    }
}
