package org.lifeboat.predictor.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.lifeboat.predictor.config.AlertmanagerIntakeConfig;

class NodeLabelRuleTest {

    private final NodeLabelRule rule = NodeLabelRule.from(AlertmanagerIntakeConfig.defaults());

    @Test
    void theNodeLabelWinsOverInstance() {
        NodeLabelRule.Match match = rule.nodeFor(Map.of("node", "node2", "instance", "node3:9100"));

        assertEquals("node2", match.node());
        assertEquals("node=\"node2\"", match.from());
    }

    @Test
    void anInstanceLosesItsPortAndDomain() {
        assertEquals("node2", rule.nodeFor(Map.of("instance", "node2:9100")).node());
        assertEquals("node2", rule.nodeFor(Map.of("instance", "node2.cluster.example.org:9100")).node());
        assertEquals("node2", rule.nodeFor(Map.of("instance", "node2")).node());
    }

    @Test
    void aLabelWhoseValueGivesNoNodeNameIsPassedOverForTheNext() {
        assertEquals("node4", rule.nodeFor(Map.of("node", ":9100", "instance", "node4:9100")).node());
    }

    @Test
    void noMappingLabelIsAProblemNamingTheLabelsTried() {
        NodeLabelRule.Match match = rule.nodeFor(Map.of("alertname", "EdacErrors", "job", "node"));

        assertFalse(match.found());
        assertEquals("none of the labels [node, instance] is present", match.problem());
    }

    @Test
    void aValueWithoutANodeNameIsAProblemQuotingIt() {
        NodeLabelRule.Match match = rule.nodeFor(Map.of("instance", "[::1]:9100"));

        assertFalse(match.found());
        assertTrue(match.problem().contains("instance=\"[::1]:9100\""), match.problem());
    }

    @Test
    void aSiteRuleWithItsOwnLabelAndPattern() {
        NodeLabelRule site = new NodeLabelRule(List.of("hostname"), Pattern.compile("^(cn\\d+)-bmc$"));

        assertEquals("cn042", site.nodeFor(Map.of("hostname", "cn042-bmc")).node());
        assertFalse(site.nodeFor(Map.of("hostname", "login1")).found());
    }
}
