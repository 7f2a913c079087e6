#!/usr/bin/env bash
# Tasks benchmark (a benchmark, not a test: it prints figures and asserts nothing).
#
#   bench/tasks-benchmark.sh            1, 4 and 16 tasks of 64 MiB each, then one task of the
#   TASKS="1 4" MIB=64 RUNS=3 ...       same total memory (4 x 64 and 16 x 64 MiB), RUNS runs each
#
# On the testbed (brought up if needed): a --migratable job on node1 whose srun step runs N tasks,
# each the test workload (MIB of random memory, a counter every 100 ms) in lifeboat-run; the
# tasks share the job's container on the node (launcher/README.md). It is migrated diskless to
# node2 with `lifeboat migrate --json`. Printed per run: frozen time (dump start until the job
# runs on node2), the job's path until then (total, without Slurm's PLACE and the CLEANUP after
# it), CRIU's dump and restore, and the bytes moved.
set -euo pipefail
cd "$(dirname "$0")/.."
source testbed/lib.sh
rerun_as_root "$0" "$@"

read -r -a task_counts <<<"${TASKS:-1 4 16}"
mib=${MIB:-64}
runs=${RUNS:-1}
make -s -C slurm-hooks
make -s -C launcher all tests/lifeboat-workload
[ -f agent/target/lifeboat-agent.jar ] || mvn -q package -DskipTests
testbed/cluster.sh up >/dev/null

lifeboat() { java -jar agent/target/lifeboat-agent.jar "$@"; }
ROW='
import json, sys
shape = sys.argv[1]
r = json.load(sys.stdin)
p = r["phase-millis"]
total = r["total-millis"] - p.get("place", 0) - p.get("cleanup", 0)
cells = [shape, r["downtime-millis"], total, p.get("dump", 0), p.get("restore", 0), r["criu-dump-millis"],
         r["criu-restore-millis"], r["page-bytes"] + r["image-bytes"]]
row = "%-20s %8s %6s %6s %7s %9s %12s %11s" % tuple(cells)
print(row if r["outcome"] == "migrated" else row + "  " + r["outcome"] + ": " + str(r["cause"]))
'

# run TASKS MIB_EACH LABEL: one job, migrated once, one row.
run() {
    local tasks=$1 each=$2 label=$3 dir job rank counted
    dir=$(mktemp -d "$TESTBED_RUN/shared/bench-XXXX")
    chmod 755 "$dir"
    job=$(sbatch --parsable --migratable --nodelist=node1 --ntasks="$tasks" --output="$dir/slurm.out" --chdir="$dir" \
        --wrap "srun bash -c 'exec $PWD/launcher/lifeboat-run --bind $PWD/launcher/tests -- $PWD/launcher/tests/lifeboat-workload $dir/sequence.\$SLURM_PROCID $dir/stop $each'")
    for _ in $(seq 1 1200); do
        counted=0
        for rank in $(seq 0 $((tasks - 1))); do
            [ -f "$dir/sequence.$rank" ] && [ "$(wc -l <"$dir/sequence.$rank")" -ge 3 ] && counted=$((counted + 1))
        done
        [ "$counted" -eq "$tasks" ] && break
        sleep 0.1
    done
    lifeboat migrate "$job" --to node2 --mode diskless --json --socket "$(node_dir node1)/agent.sock" \
        | python3 -c "$ROW" "$label" || true
    echo 0 >"$dir/stop"
    scancel "$job" 2>/dev/null || true
    for _ in $(seq 1 100); do
        [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break
        sleep 0.2
    done
}

printf '%-20s %8s %6s %6s %7s %9s %12s %11s\n' shape frozen total dump restore criu-dump criu-restore bytes
for tasks in "${task_counts[@]}"; do
    for _ in $(seq 1 "$runs"); do
        run "$tasks" "$mib" "$tasks x $mib MiB"
    done
    if [ "$tasks" -gt 1 ]; then
        for _ in $(seq 1 "$runs"); do
            run 1 $((tasks * mib)) "1 x $((tasks * mib)) MiB"
        done
    fi
done
echo "(ms unless noted; diskless, node1 -> node2, unlimited link; this machine: $(nproc) cores)"
