package org.lifeboat.agent.migration;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Image and control directories, walked and removed. */
final class DirectoryTrees {

    private DirectoryTrees() {}

    /** Removes the directory and everything below it; nothing there is fine. */
    static void delete(Path directory) throws IOException {
        if (!Files.exists(directory)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(directory)) {
            for (Path path : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(path);
            }
        }
    }

    /** The bytes of CRIU's page images (pages-*.img) in the directory. */
    static long sizeOfPages(Path images) throws IOException {
        try (Stream<Path> files = Files.list(images)) {
            long total = 0;
            for (Path file : (Iterable<Path>) files::iterator) {
                if (file.getFileName().toString().startsWith("pages-")) {
                    total += Files.size(file);
                }
            }
            return total;
        }
    }
}
