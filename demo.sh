#!/usr/bin/env bash
# The Lifeboat demo: brings up a local 3-node Slurm cluster (one network namespace, slurmd and
# Lifeboat agent per node), submits a job and shows it running on a named node.
# Safe to run again: what already runs is kept. `testbed/cluster.sh down` removes it all.
#
# Needs root (namespaces, tmpfs, slurmd). Run as a user it re-runs itself through sudo.
set -euo pipefail
cd "$(dirname "$0")"

if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "demo.sh: needs root, and there is no sudo: run it as root" >&2; exit 1; }
    echo "demo.sh: needs root; re-running through sudo" >&2
    exec sudo -- "$0" "$@"
fi

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "installing what is missing and building"
testbed/deps.sh
testbed/criu.sh >/dev/null
make -s -C slurm-hooks
make -s -C launcher all tests/lifeboat-workload
mvn -q package -DskipTests

say "bringing the cluster up"
testbed/cluster.sh up
source testbed/lib.sh
testbed/cluster.sh status

say "submitting a job that counts, once a second"
output_dir=$TESTBED_RUN/demo
mkdir -p "$output_dir"
job=$(sbatch --parsable --job-name=counter --output="$output_dir/counter-%j.out" --chdir="$output_dir" \
    --wrap 'for i in $(seq 1 600); do echo "$i on $SLURMD_NODENAME"; sleep 1; done')
for _ in $(seq 1 50); do
    [ "$(squeue -h -j "$job" -o %T)" = RUNNING ] && break
    sleep 0.2
done
squeue -j "$job" -o '%.8i %.10j %.8u %.9T %.10M %N'
node=$(squeue -h -j "$job" -o %N)
sleep 3
echo "job $job runs on $node; its output so far:"
tail -n 3 "$output_dir/counter-$job.out"

say "what to try next"
cat <<NEXT
  export SLURM_CONF=$SLURM_CONF
  squeue; sinfo -N                                   # the cluster and the job
  tail -f $output_dir/counter-$job.out
  curl http://$(node_address "$node"):$AGENT_HTTP_PORT/metrics   # the agent on $node (Prometheus)
  scontrol update nodename=$node state=drain reason=demo     # live migration arrives with the engine issues
  testbed/cluster.sh status                          # every daemon, agent and tmpfs
  testbed/cluster.sh down                            # removes everything the demo started
NEXT
