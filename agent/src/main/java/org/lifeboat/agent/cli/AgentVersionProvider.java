package org.lifeboat.agent.cli;

import org.lifeboat.agent.AgentVersion;
import picocli.CommandLine.IVersionProvider;

/** Answers {@code lifeboat --version} from the jar manifest. */
final class AgentVersionProvider implements IVersionProvider {

    @Override
    public String[] getVersion() {
        return new String[] {"lifeboat " + AgentVersion.current()};
    }
}
