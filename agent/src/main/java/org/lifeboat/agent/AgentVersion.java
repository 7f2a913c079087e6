package org.lifeboat.agent;

/** The version the build wrote into the jar manifest. */
public final class AgentVersion {

    // Classes run straight from target/classes, as in tests and IDEs, have no manifest.
    private static final String UNPACKAGED = "dev";

    private AgentVersion() {
    }

    public static String current() {
        String version = AgentVersion.class.getPackage().getImplementationVersion();
        return version == null ? UNPACKAGED : version;
    }
}
