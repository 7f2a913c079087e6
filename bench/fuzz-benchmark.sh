#!/usr/bin/env bash
# Random-input benchmark (a benchmark, not a test run: it prints figures).
#
#   bench/fuzz-benchmark.sh [INPUTS]      default: 1000000 each
#
# Runs the two random-input suites with INPUTS inputs each instead of the CI run's few thousand:
#   - the agent's Unix socket protocol (AgentSocketServerRandomInputTest): every input on a
#     connection of its own against a real AgentSocketServer, 8 clients at a time;
#   - the failure-predictor adapter's HTTP intake, Alertmanager webhook and predictions endpoint
#     (PredictionIntakeRandomInputTest), one request at a time against the real HTTP server.
# Each input is made from its own seed (the suite's seed + its index), so any failure replays.
# Each prints one line: inputs, seconds, inputs per second, replies (or accepted and refused),
# inputs that misbehaved (a hang, a crash, a refused one that changed state, a 5xx) and the heap.
# The suites' own assertions still hold (no misbehaving input, the agent serves afterwards, its
# threads and metric labels bounded); JUnit's per-test timeouts are off for the long run.
set -euo pipefail
cd "$(dirname "$0")/.."

inputs=${1:-1000000}
[[ $inputs =~ ^[0-9]+$ ]] || { echo "usage: $0 [INPUTS]" >&2; exit 2; }
started=$SECONDS
mvn -B test -pl agent,failure-predictor-adapter -am \
    -Dtest='AgentSocketServerRandomInputTest,PredictionIntakeRandomInputTest' -Dsurefire.failIfNoSpecifiedTests=false \
    -Dlifeboat.fuzz.inputs="$inputs" -Djunit.jupiter.execution.timeout.mode=disabled \
    | grep -E '^(socket fuzz|HTTP intake fuzz):|Tests run:|BUILD'
echo "fuzz benchmark: $inputs inputs per suite, $((SECONDS - started)) s in all"
