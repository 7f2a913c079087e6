package org.lifeboat.agent.container;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Manifests of jobs with long command lines, as lifeboat-run writes them for a real workload's argv. */
public final class LongManifests {

    private LongManifests() {}

    /** A Python job given 200 arguments of 1000 characters each (about 200 KB). */
    public static ContainerManifest twoHundredArgumentsOf1000Characters() {
        List<String> argv = new ArrayList<>(List.of("/usr/bin/python3", "/home/user/train.py"));
        for (int i = 0; i < 200; i++) {
            argv.add("--input=/scratch/user/dataset/" + String.format("%04d", i) + "/" + "x".repeat(1000 - 35));
        }
        return withArgv(argv);
    }

    /** A shell job whose whole script, 100 KB, is one argument (bash -c). */
    public static ContainerManifest oneArgumentOf100Kilobytes() {
        String script = String.join("\n", Collections.nCopies(100 * 1024 / 20 + 1, "echo \"step\" >> log;")).substring(0, 100 * 1024);
        return withArgv(List.of("/bin/bash", "-c", script));
    }

    public static ContainerManifest withArgv(List<String> argv) {
        return new ContainerManifest(ContainerManifest.SUPPORTED_VERSION, 4242, 777, 1000, 1000, "/run/lifeboat/containers/c1/root",
                null, List.of(), List.of(), "/home/user", "/home/user/out", "/home/user/err", "/home/user/.status", argv);
    }
}
