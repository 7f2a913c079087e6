/**
 * Failure predictions in, one evacuation per endangered node out.
 *
 * <h2>A library loaded by the agent, not a daemon of its own</h2>
 *
 * The adapter runs inside the node agent: one process per node, one HTTP port (the agent's, which
 * mounts {@code /api/v1/alertmanager} and {@code /api/v1/predictions}), one configuration file (the
 * {@code predictor:} section of the agent's YAML), one log, and direct calls into the evacuation code
 * instead of a second protocol between two processes that would need its own authentication, retries and
 * version checks. What the adapter needs from the agent it names as small interfaces that the agent
 * implements: {@link org.lifeboat.predictor.NodeDirectory} (which nodes Slurm knows),
 * {@link org.lifeboat.predictor.NodeDrainer} (drain and resume in Slurm),
 * {@link org.lifeboat.predictor.Evacuator} (move the jobs),
 * {@link org.lifeboat.predictor.PredictionOutcomes} (metrics) and
 * {@link org.lifeboat.predictor.detect.ToolRunner} (the agent's one way to run external tools). The
 * module depends on Jackson only and never on the agent module, so it is built and tested on its own.
 *
 * <h2>Parts</h2>
 * <ul>
 *   <li>{@link org.lifeboat.predictor.Prediction}: node, deadline, confidence, source, reason, dedup key.</li>
 *   <li>{@link org.lifeboat.predictor.PredictionBook}: the decisions (threshold, dedup, hold-down, undrain
 *       only Lifeboat's drains).</li>
 *   <li>{@code http}: the Alertmanager webhook (version 4) and the generic JSON endpoint, as JDK handlers.</li>
 *   <li>{@code detect}: EDAC counters from sysfs, the BMC's SEL through ipmitool.</li>
 *   <li>{@code plan}: the evacuation order, most urgent first, against the deadline.</li>
 *   <li>{@code config}: the {@code predictor:} section, every key with a tested default.</li>
 *   <li>{@code service}: the threads that run it all.</li>
 * </ul>
 */
package org.lifeboat.predictor;
