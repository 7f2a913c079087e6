package org.lifeboat.agent.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

/**
 * This node's jobs and whether they should be leaving, read at each scrape: together they tell an
 * evacuation that does not empty its node ({@code LifeboatEvacuationStuck}).
 * <ul>
 *   <li>{@code lifeboat_registered_jobs}: migratable jobs the agent knows on this node;</li>
 *   <li>{@code lifeboat_node_draining}: 1 while Slurm last showed the node drained, draining, down or
 *       failing (the drain watcher's last poll), which makes the agent evacuate it;</li>
 *   <li>{@code lifeboat_node_failure_predicted}: 1 while a failure prediction for this node, received
 *       by this agent, keeps it under evacuation (until withdrawn and its hold-down has passed, or
 *       until an administrator resumed the node after its drain).</li>
 * </ul>
 */
public final class NodeMetrics implements MeterBinder {

    static final String REGISTERED_JOBS = "lifeboat.registered.jobs";
    static final String DRAINING = "lifeboat.node.draining";
    static final String FAILURE_PREDICTED = "lifeboat.node.failure.predicted";

    private final IntSupplier registeredJobs;
    private final BooleanSupplier draining;
    private final BooleanSupplier failurePredicted;

    public NodeMetrics(IntSupplier registeredJobs, BooleanSupplier draining, BooleanSupplier failurePredicted) {
        this.registeredJobs = Objects.requireNonNull(registeredJobs, "registeredJobs");
        this.draining = Objects.requireNonNull(draining, "draining");
        this.failurePredicted = Objects.requireNonNull(failurePredicted, "failurePredicted");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Gauge.builder(REGISTERED_JOBS, registeredJobs::getAsInt)
                .description("Migratable jobs registered on this node")
                .register(registry);
        Gauge.builder(DRAINING, () -> draining.getAsBoolean() ? 1 : 0)
                .description("1 while Slurm shows this node drained, draining, down or failing (the agent then evacuates it), else 0")
                .register(registry);
        Gauge.builder(FAILURE_PREDICTED, () -> failurePredicted.getAsBoolean() ? 1 : 0)
                .description("1 while a failure prediction received by this agent keeps this node under evacuation, else 0")
                .register(registry);
    }
}
