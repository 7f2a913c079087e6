#!/usr/bin/env bash
# The Lifeboat demo: brings up a local 3-node Slurm cluster (one network namespace, slurmd and
# Lifeboat agent per node), submits a --migratable job whose counter lives in memory, and moves
# it live from node1 to node2 with CRIU while it keeps counting.
# Safe to run again: what already runs is kept. `testbed/cluster.sh down` removes it all.
#
# Needs root (namespaces, tmpfs, slurmd). Run as a user it re-runs itself through sudo.
set -euo pipefail
cd "$(dirname "$0")"

source testbed/lib.sh
rerun_as_root "$0" "$@"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "installing what is missing and building"
testbed/deps.sh
testbed/criu.sh >/dev/null
make -s -C slurm-hooks
make -s -C launcher all tests/lifeboat-workload
mvn -q package -DskipTests

say "bringing the cluster up"
testbed/cluster.sh up
testbed/cluster.sh status

say "submitting a --migratable job: a counter in a lifeboat-run container holding 256 MiB"
output_dir=$(mktemp -d "$TESTBED_RUN/shared/demo-XXXX")
chmod 755 "$output_dir"
workload=$PWD/launcher/tests/lifeboat-workload
job=$(sbatch --parsable --migratable --job-name=counter --nodelist=node1 --output="$output_dir/slurm.out" \
    --chdir="$output_dir" --wrap "exec $PWD/launcher/lifeboat-run --stdout $output_dir/out \
        --exit-status-file $output_dir/status --bind $PWD/launcher/tests \
        -- $workload $output_dir/sequence $output_dir/stop 256")
for _ in $(seq 1 100); do
    [ -f "$output_dir/sequence" ] && [ "$(wc -l <"$output_dir/sequence")" -ge 20 ] && break
    sleep 0.2
done
squeue -j "$job" -o '%.8i %.10j %.8u %.9T %.10M %N'
echo "job $job counts on node1 (every 100 ms, the counter lives only in the process's memory):"
tail -n 3 "$output_dir/sequence" | paste -sd ' '
lifeboat() { java -jar agent/target/lifeboat-agent.jar "$@"; }
lifeboat status --socket "$(node_dir node1)/agent.sock"

say "migrating it live to node2 (CRIU dump, page server into node2's tmpfs, restore)"
lifeboat migrate "$job" --to node2 --socket "$(node_dir node1)/agent.sock"
before=$(wc -l <"$output_dir/sequence")
sleep 2
echo "the counter carries on from where it was, now on node2:"
tail -n 3 "$output_dir/sequence" | paste -sd ' '
python3 -c "
import sys
numbers = [int(line) for line in open(sys.argv[1])]
broken = [i for i, n in enumerate(numbers) if n != i + 1]
print(f'{len(numbers)} numbers, {\"none\" if not broken else len(broken)} out of order, {int(sys.argv[2])} written before the move')
" "$output_dir/sequence" "$before"
lifeboat status --socket "$(node_dir node2)/agent.sock"

say "what to try next"
cat <<NEXT
  export SLURM_CONF=$SLURM_CONF
  tail -f $output_dir/sequence                       # the counter, now written from node2
  java -jar agent/target/lifeboat-agent.jar migrate $job --to node3 --mode shared-fs \\
      --socket $(node_dir node2)/agent.sock           # move it again
  curl http://$(node_address node2):$AGENT_HTTP_PORT/metrics   # an agent's Prometheus metrics
  touch $output_dir/stop                             # the workload exits 3; see $output_dir/status
  testbed/cluster.sh status                          # every daemon, agent and tmpfs
  testbed/cluster.sh down                            # removes everything the demo started
Not yet: the job is not requeued in Slurm on node2 (issue 6), so Slurm ends it on node1
when its frozen copy is killed; the container itself runs on, on node2.
NEXT
