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

    static void write(Path images, InetSocketAddress target) throws IOException {
        Files.writeString(images.resolve(FILE_NAME), target.getHostString() + " " + target.getPort() + "\n");
    }

    static Optional<InetSocketAddress> read(Path images) throws IOException {
        Path file = images.resolve(FILE_NAME);
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        String[] fields = Files.readString(file).strip().split(" ");
        if (fields.length != 2 || !fields[1].matches("[0-9]{1,5}")) {
            throw new IOException("unreadable target record " + file);
        }
        return Optional.of(new InetSocketAddress(fields[0], Integer.parseInt(fields[1])));
    }

    /** Migration ids are "job" + job id + "-" + a random part. */
    static long jobOf(String migrationId) {
        if (!migrationId.matches("job[0-9]+-[A-Za-z0-9]+")) {
            return 0;
        }
        return Long.parseLong(migrationId.substring(3, migrationId.indexOf('-')));
    }
}
