package org.lifeboat.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The agent's packages depend on each other in one direction only: a cycle would make a package
 * impossible to understand, build or test without the others. Read from the sources, by every name
 * of another package they use (imports and fully qualified names alike).
 */
class PackageCyclesTest {

    private static final Path SOURCES = Path.of("src/main/java/org/lifeboat/agent");
    private static final Pattern REFERENCE = Pattern.compile("org\\.lifeboat\\.agent\\.([a-z]+)\\.[A-Z]");

    @Test
    void noPackageDependsOnItselfThroughOthers() throws IOException {
        Map<String, Set<String>> dependencies = dependencies();

        List<String> cycles = new ArrayList<>();
        for (String start : dependencies.keySet()) {
            findCycle(start, start, dependencies, new ArrayList<>(List.of(start)), new TreeSet<>(), cycles);
        }

        assertEquals(List.of(), cycles, "package dependencies: " + dependencies);
    }

    private static void findCycle(String start, String at, Map<String, Set<String>> dependencies, List<String> path,
                                  Set<String> seen, List<String> cycles) {
        for (String next : dependencies.getOrDefault(at, Set.of())) {
            if (next.equals(start)) {
                cycles.add(String.join(" -> ", path) + " -> " + start);
            } else if (seen.add(next)) {
                path.add(next);
                findCycle(start, next, dependencies, path, seen, cycles);
                path.remove(path.size() - 1);
            }
        }
    }

    private static Map<String, Set<String>> dependencies() throws IOException {
        Map<String, Set<String>> dependencies = new TreeMap<>();
        try (Stream<Path> files = Files.walk(SOURCES)) {
            for (Path file : (Iterable<Path>) files.filter(path -> path.toString().endsWith(".java"))::iterator) {
                Path relative = SOURCES.relativize(file);
                if (relative.getNameCount() < 2) {
                    continue; // the root package holds the version alone
                }
                String own = relative.getName(0).toString();
                Matcher reference = REFERENCE.matcher(Files.readString(file));
                while (reference.find()) {
                    if (!reference.group(1).equals(own)) {
                        dependencies.computeIfAbsent(own, key -> new TreeSet<>()).add(reference.group(1));
                    }
                }
            }
        }
        return dependencies;
    }
}
