#!/usr/bin/env bash
# Across-nodes benchmark (a benchmark, not a test: it prints figures and asserts nothing).
#
#   bench/across-nodes-benchmark.sh [NODES] [MIB]    a job on NODES nodes (2 or 3), MIB of memory per part
#
# See bench/across_nodes.py for what it runs and prints; the plot goes to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
source testbed/lib.sh
rerun_as_root "$0" "$@"

make -s -C slurm-hooks
make -s -C launcher all
[ -f agent/target/lifeboat-agent.jar ] || mvn -q package -DskipTests
testbed/cluster.sh up >/dev/null
python3 bench/across_nodes.py "$@"
