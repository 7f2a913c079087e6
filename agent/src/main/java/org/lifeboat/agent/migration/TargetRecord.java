package org.lifeboat.agent.migration;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The target of an outgoing migration, written next to its images, so that an agent restarted in
 * the middle of one can tell the target to discard its part.
 */
final class TargetRecord {

    static final String FILE_NAME = ".lifeboat-target";

    private TargetRecord() {}

    /** The target node's name (requests must name it) and its agent's address. */
    record Target(String node, InetSocketAddress address) {}

    static void write(Path images, Target target) throws IOException {
        Files.writeString(images.resolve(FILE_NAME), target.address().getHostString() + " " + target.address().getPort() + " "
                + target.node() + "\n");
    }

    static Optional<Target> read(Path images) throws IOException {
        Path file = images.resolve(FILE_NAME);
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        String[] fields = Files.readString(file).strip().split(" ");
        if (fields.length != 3 || !fields[1].matches("[0-9]{1,5}") || fields[2].isEmpty()) {
            throw new IOException("unreadable target record " + file);
        }
        return Optional.of(new Target(fields[2], new InetSocketAddress(fields[0], Integer.parseInt(fields[1]))));
    }

    /** Migration ids are "job" + job id + "-" + a random part. */
    static long jobOf(String migrationId) {
        if (!migrationId.matches("job[0-9]+-[A-Za-z0-9]+")) {
            return 0;
        }
        return Long.parseLong(migrationId.substring(3, migrationId.indexOf('-')));
    }
}
