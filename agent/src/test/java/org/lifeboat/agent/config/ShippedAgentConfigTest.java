package org.lifeboat.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.lang.reflect.Parameter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The config/agent.yaml shipped to sites must say exactly what the agent does without it. */
class ShippedAgentConfigTest {

    private final Path shippedConfig = repository().resolve("config/agent.yaml");

    @Test
    void holdsTheBuiltInDefaultsAndLeavesNodeNameToTheHostName() throws Exception {
        assertEquals(AgentConfig.defaults(), new AgentConfigLoader().load(shippedConfig));
    }

    @Test
    void usesNoDeprecatedKey() throws Exception {
        List<String> warnings = new ArrayList<>();

        new AgentConfigLoader().load(shippedConfig, warnings::add);

        assertEquals(List.of(), warnings);
    }

    @Test
    void mentionsEveryKeySoAdministratorsCanFindThem() throws Exception {
        String text = Files.readString(shippedConfig);

        for (Class<?> section : List.of(AgentConfig.class, HttpConfig.class, PeerConfig.class, EvacuationConfig.class,
                HealthConfig.class, ApptainerConfig.class)) {
            for (Parameter parameter : section.getConstructors()[0].getParameters()) {
                String key = parameter.getAnnotation(JsonProperty.class).value();
                assertTrue(text.contains(key + ":"), "config/agent.yaml does not mention " + key);
            }
        }
    }

    private static Path repository() {
        String repository = System.getProperty("lifeboat.repo");
        assertNotNull(repository, "system property lifeboat.repo is set by the build (surefire)");
        return Path.of(repository);
    }
}
