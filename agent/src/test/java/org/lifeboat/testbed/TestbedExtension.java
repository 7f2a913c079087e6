package org.lifeboat.testbed;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Gives an integration test class a running testbed cluster in a clean state: the cluster is
 * brought up if it is not (idempotent), every job is cancelled and every node resumed to idle;
 * after each test every node is resumed again, whatever the test drained.
 * A cluster that cannot be brought up fails the class and names what is missing: an integration
 * test never skips.
 */
public final class TestbedExtension implements BeforeAllCallback, AfterEachCallback, ParameterResolver {

    private static final Duration CLUSTER_TIMEOUT = Duration.ofMinutes(3);
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(TestbedExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        Testbed testbed = new Testbed(Testbed.locateRepository());
        String script = testbed.clusterScript().toString();
        testbed.run(CLUSTER_TIMEOUT, List.of(script, "up")).orThrow();
        testbed.run(CLUSTER_TIMEOUT, List.of(script, "reset")).orThrow();
        context.getStore(NAMESPACE).put(Testbed.class, testbed);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        // A node not drained stays as it is: scontrol's complaint about it is not a failure.
        context.getStore(NAMESPACE).get(Testbed.class, Testbed.class).resumeNodes();
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == Testbed.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        return context.getStore(NAMESPACE).get(Testbed.class, Testbed.class);
    }
}
