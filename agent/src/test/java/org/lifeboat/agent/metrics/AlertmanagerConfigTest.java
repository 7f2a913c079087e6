package org.lifeboat.agent.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lifeboat.agent.process.CommandResult;
import org.lifeboat.agent.process.ProcessCommandRunner;
import org.lifeboat.testbed.Testbed;

/** The shipped Alertmanager example: valid for the real amtool, and every webhook to an agent carries the token. */
class AlertmanagerConfigTest {

    private static final Path EXAMPLE = Testbed.locateRepository().resolve("config/alertmanager/alertmanager.yml");
    private static final Path AMTOOL = Path.of("/usr/bin/amtool");

    @Test
    void theExampleIsValid() throws Exception {
        assertTrue(Files.isExecutable(AMTOOL), AMTOOL + " is missing: install Debian's prometheus-alertmanager (testbed/deps.sh does)");

        CommandResult result = new ProcessCommandRunner().run(List.of(AMTOOL.toString(), "check-config", EXAMPLE.toString()),
                Duration.ofSeconds(60));

        assertTrue(result.succeeded(), result.stdout() + result.stderr());
    }

    @Test
    void everyWebhookToAnAgentSendsTheTokenFromAFile() throws Exception {
        JsonNode receivers = new YAMLMapper().readTree(EXAMPLE.toFile()).path("receivers");
        int webhooks = 0;
        for (JsonNode receiver : receivers) {
            for (JsonNode webhook : receiver.path("webhook_configs")) {
                webhooks++;
                assertTrue(webhook.path("url").asText().endsWith(":9464/api/v1/alertmanager"), webhook.toString());
                assertTrue(webhook.path("http_config").path("authorization").path("credentials_file").isTextual(), webhook.toString());
            }
        }
        assertEquals(2, webhooks);
    }
}
