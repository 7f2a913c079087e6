package org.lifeboat.agent.migration;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** How the checkpoint's memory travels from source to target. */
public enum TransferMode {
    /** CRIU's page server on the target writes memory straight into its tmpfs; nothing touches a disk. */
    DISKLESS,
    /** Images are written to a directory both nodes mount (the seed paper's default). */
    SHARED_FS,
    /**
     * Post-copy: everything but the memory crosses while the job is frozen; the job then runs on the
     * target while CRIU's lazy-pages daemon there fetches its memory from the source, on each fault
     * and in the background, until the last page has crossed. Until then the job needs both nodes.
     */
    POST_COPY;

    /** Whether the images are copied into the target's own checkpoint directory, rather than read where they lie. */
    public boolean copiesImages() {
        return this != SHARED_FS;
    }

    @JsonValue
    public String wireName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static TransferMode fromWireName(String name) {
        for (TransferMode mode : values()) {
            if (mode.wireName().equals(name)) {
                return mode;
            }
        }
        throw new IllegalArgumentException("unknown transfer mode '" + name + "' (known: "
                + Arrays.stream(values()).map(TransferMode::wireName).collect(Collectors.joining(", ")) + ")");
    }
}
