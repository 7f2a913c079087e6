#!/usr/bin/env bash
# The Lifeboat demo: brings up a local Slurm cluster (3 nodes in the default partition, and a 4th
# for jobs across nodes; one network namespace, slurmd and
# Lifeboat agent per node), submits a --migratable job whose counter lives in memory, then drains
# its node as an admin would: the agent has Slurm choose a target, moves the job live with CRIU,
# and the same job id is requeued there, where it carries on counting and finishes.
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

user=${TEST_USERS[0]}
say "submitting a --migratable job as $user, an ordinary user: a counter in a lifeboat-run container holding 256 MiB"
output_dir=$(mktemp -d "$TESTBED_RUN/shared/demo-XXXX")
chmod 755 "$output_dir"
chown "$user:" "$output_dir"
bin=$TESTBED_RUN/bin
job=$(runuser -u "$user" -- sbatch --parsable --migratable --job-name=counter --nodelist=node1 --open-mode=append \
    --output="$output_dir/slurm.out" --chdir="$output_dir" \
    --wrap "echo \"batch script started (restart \${SLURM_RESTART_COUNT:-0}) on \$SLURMD_NODENAME\"
        exec $bin/lifeboat-run --stdout $output_dir/out \
        --exit-status-file $output_dir/status --bind $bin \
        -- $bin/lifeboat-workload $output_dir/sequence $output_dir/stop 256")
for _ in $(seq 1 100); do
    [ -f "$output_dir/sequence" ] && [ "$(wc -l <"$output_dir/sequence")" -ge 20 ] && break
    sleep 0.2
done
squeue -j "$job" -o '%.8i %.10j %.8u %.9T %.10M %N'
echo "job $job of $user counts on node1 (every 100 ms, the counter lives only in the process's memory):"
tail -n 3 "$output_dir/sequence" | paste -sd ' '
lifeboat() { java -jar agent/target/lifeboat-agent.jar "$@"; }
lifeboat status --socket "$(node_dir node1)/agent.sock"

say "draining node1, as an admin would: scontrol update nodename=node1 state=drain"
drained=$(date +%s%N)
scontrol update nodename=node1 state=drain reason="demo: hardware maintenance"
target=""
for _ in $(seq 1 600); do
    read -r state target < <(squeue -h -j "$job" -o '%T %N') || true
    [ "$state" = RUNNING ] && [ -n "$target" ] && [ "$target" != node1 ] && break
    sleep 0.05
done
echo "job $job RUNNING on $target, $(( ($(date +%s%N) - drained) / 1000000 )) ms after the drain"
before=$(wc -l <"$output_dir/sequence")
sleep 2
echo "node1's agent log: the trigger, the point of no return, the downtime, every phase in ms"
echo "(CRIU ran as $user, uid $(id -u "$user"), with CAP_SYS_ADMIN, CAP_SYS_CHROOT and CAP_SETPCAP alone):"
grep -E "evacuat|migration job$job-.*(phases|point of no return|runs on)" "$TESTBED_RUN/log/agent-node1.log" \
    | tail -n 4 | cut -c 12- | sed 's/^/  /'
echo "the counter carries on from where it was, now on $target, in the same job:"
tail -n 3 "$output_dir/sequence" | paste -sd ' '
scontrol -o show job "$job" | tr ' ' '\n' | grep -E '^(JobId|JobState|NodeList|Restarts|AdminComment)='
restored=$(pgrep -u "$user" -n lifeboat-worklo || true)
if [ -n "$restored" ]; then
    echo "the restored counter (pid $restored) is $user's and holds no capability:"
    grep -E '^(Uid|CapEff):' "/proc/$restored/status" | sed 's/^/  /'
fi
echo "the job's output, continued across the move:"
sed 's/^/  /' "$output_dir/slurm.out"

say "the workload finishes: the job completes on $target with its exit code"
echo 0 >"$output_dir/stop"
for _ in $(seq 1 100); do
    [ "$(squeue -h -j "$job" | wc -l)" -eq 0 ] && break
    sleep 0.2
done
scontrol -o show job "$job" | tr ' ' '\n' | grep -E '^(JobState|ExitCode)='
python3 -c "
import sys
numbers = [int(line) for line in open(sys.argv[1])]
broken = [i for i, n in enumerate(numbers) if n != i + 1]
print(f'{len(numbers)} numbers, {\"none\" if not broken else len(broken)} out of order or repeated, {int(sys.argv[2])} written before the move')
" "$output_dir/sequence" "$before"
scontrol update nodename=node1 state=resume

say "what to try next"
cat <<NEXT
  export SLURM_CONF=$SLURM_CONF
  sbatch --migratable --open-mode=append ...          # your own job; see README "A user's job"
  bin/lifeboat migrate JOBID --socket $(node_dir node1)/agent.sock
                                                      # move a job now, to the node Slurm picks
  bin/lifeboat evacuate node2                          # drain node2: its jobs leave
  curl http://$(node_address node2):$AGENT_HTTP_PORT/metrics   # an agent's Prometheus metrics
  testbed/cluster.sh status                          # every daemon, agent and tmpfs
  testbed/cluster.sh down                            # removes everything the demo started
NEXT
