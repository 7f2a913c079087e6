#!/usr/bin/env bash
# Migration benchmark (a benchmark, not a test: it prints figures and asserts nothing).
#
#   bench/migrate-benchmark.sh [SIZE_MIB ...]      default: 256 1024
#
# On the testbed (brought up if needed), for each size: a --migratable job runs the test workload
# (SIZE MiB of random memory, a counter written every 100 ms) in lifeboat-run on node1; it is
# migrated to node2 in diskless mode and back to node1 in shared-fs mode (the testbed's shared
# directory is on the machine's disk). Printed per run: each phase, CRIU's own dump and restore
# times, the bytes moved, throughput, downtime, and the agent's overhead:
#   total = from the start until the restored job runs (RESUME; Slurm's PLACE and the CLEANUP after it are
#   shown apart), overhead = total - CRIU dump - CRIU restore - image transfer (send-images)
# In diskless mode CRIU's dump includes the page transfer through the page server.
# Then, end to end through Slurm: a 256 MiB job on node1, node1 drained, and the time from the
# drain until squeue shows the same job RUNNING on the node Slurm chose (median of 3).
set -euo pipefail
cd "$(dirname "$0")/.."
source testbed/lib.sh
rerun_as_root "$0" "$@"

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(256 1024)
make -s -C slurm-hooks
make -s -C launcher all tests/lifeboat-workload
[ -f agent/target/lifeboat-agent.jar ] || mvn -q package -DskipTests
testbed/cluster.sh up >/dev/null

lifeboat() { java -jar agent/target/lifeboat-agent.jar "$@"; }
# One table row from a migration report (lifeboat migrate --json).
ROW='
import json, sys
size, mode = sys.argv[1], sys.argv[2]
r = json.load(sys.stdin)
p = r["phase-millis"]
moved = r["page-bytes"] + r["image-bytes"]
send = p.get("send-images", 0)
seconds = max(r["criu-dump-millis"] + send, 1) / 1000
# The job s path: until the restored job runs (RESUME); Slurm placing the requeued job and CLEANUP come after.
total = r["total-millis"] - p.get("place", 0) - p.get("cleanup", 0)
overhead = total - r["criu-dump-millis"] - r["criu-restore-millis"] - send
cells = [size + " MiB", mode, p.get("prepare-target", 0), p.get("dump", 0), send, p.get("restore", 0),
         p.get("confirm", 0), p.get("requeue", 0), p.get("resume", 0), total, r["downtime-millis"],
         round(moved / seconds / 1e6), overhead, p.get("place", 0), moved]
row = "%-9s %-10s %6s %6s %6s %7s %7s %7s %6s %6s %9s %6s %9s %6s %11s" % tuple(cells)
print(row if r["outcome"] == "migrated" else row + "  " + r["outcome"] + ": " + str(r["cause"]))
'

printf '%-9s %-10s %6s %6s %6s %7s %7s %7s %6s %6s %9s %6s %9s %6s %11s\n' size mode prep dump send restore confirm requeue resume total downtime "MB/s" overhead place bytes
for size in "${sizes[@]}"; do
    dir=$(mktemp -d "$TESTBED_RUN/shared/bench-XXXX")
    chmod 755 "$dir"
    job=$(sbatch --parsable --migratable --nodelist=node1 --output="$dir/slurm.out" --chdir="$dir" --wrap \
        "exec $PWD/launcher/lifeboat-run --stdout $dir/out --bind $PWD/launcher/tests -- $PWD/launcher/tests/lifeboat-workload $dir/sequence $dir/stop $size")
    for _ in $(seq 1 600); do
        [ -f "$dir/sequence" ] && [ "$(wc -l <"$dir/sequence")" -ge 3 ] && break
        sleep 0.1
    done
    from=node1
    for step in "node2 diskless" "node1 shared-fs"; do
        set -- $step
        report=$(lifeboat migrate "$job" --to "$1" --mode "$2" --json --socket "$(node_dir "$from")/agent.sock" || true)
        python3 -c "$ROW" "$size" "$2" <<<"$report"
        from=$1
    done
    touch "$dir/stop"
    scancel "$job" 2>/dev/null || true
done
echo "(ms unless noted; MB/s = bytes moved / (CRIU dump + image transfer); this machine: $(nproc) cores)"

# Drain -> RUNNING on the target, through Slurm, for a 256 MiB job.
wait_for_sequence() {
    for _ in $(seq 1 600); do
        [ -f "$1/sequence" ] && [ "$(wc -l <"$1/sequence")" -ge 3 ] && return
        sleep 0.1
    done
}
times=()
for run in 1 2 3; do
    dir=$(mktemp -d "$TESTBED_RUN/shared/bench-XXXX")
    chmod 755 "$dir"
    job=$(sbatch --parsable --migratable --nodelist=node1 --open-mode=append --output="$dir/slurm.out" --chdir="$dir" --wrap \
        "exec $PWD/launcher/lifeboat-run --stdout $dir/out --exit-status-file $dir/status --bind $PWD/launcher/tests -- $PWD/launcher/tests/lifeboat-workload $dir/sequence $dir/stop 256")
    wait_for_sequence "$dir"
    sleep 1 # registered with node1's agent
    start=$(date +%s%N)
    scontrol update nodename=node1 state=drain reason="lifeboat benchmark"
    node=""
    for _ in $(seq 1 1200); do
        read -r state node < <(squeue -h -j "$job" -o '%T %N') || true
        [ "$state" = RUNNING ] && [ -n "$node" ] && [ "$node" != node1 ] && break
        sleep 0.02
    done
    times+=($(( ($(date +%s%N) - start) / 1000000 )))
    echo "run $run: drain of node1 -> job $job RUNNING on $node after ${times[-1]} ms"
    scontrol update nodename=node1 state=resume
    echo 0 >"$dir/stop"
    sleep 1
    scancel "$job" 2>/dev/null || true
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
echo "drain -> RUNNING on the target, 256 MiB, median of 3: $median ms (goal: under 5000 ms)"
