#!/usr/bin/env bash
# An MPI job across two "nodes", each node's part in a lifeboat-run container of its own in the
# job's network namespace on that node (--network=job), started as srun would start them
# (`srun lifeboat-run --network=job -- lifeboat-mpi-part ...`, one task per node), without Slurm:
# lifeboat-mpi-part starts the MPI launcher in node 0's container and the proxies/daemons in
# the other's, and every rank of tests/mpi-ring.c (`sum STEPS DELAY_MS`, 2 ranks per node, 4 in
# all) talks TCP between the containers' addresses. Then one part moves with its connections.
#
# The "nodes", all network namespaces made here (no packet leaves them):
#   lbmx$$-fabric   the switch: a bridge, 10.246.0.0/24
#   lbmx$$-a/b/c    nodes A, B and C: eth0 10.246.0.1/2/3 on the bridge; their Slurm names
#                   (SLURMD_NODENAME) lbmxa$$, lbmxb$$, lbmxc$$
#   lifeboat-job-JOB-NODE   the job's namespace on NODE, as the agent makes it: lo, and eth0, a
#                   macvlan on NODE's eth0 with the job's address there (job 950: A 10.246.0.101,
#                   B .102; job 951: .111, .112; ...)
# Each part's launcher runs in the job's cgroup (made as Slurm's) with the variables srun sets
# (SLURM_JOB_ID, SLURM_NODEID, SLURM_PROCID, SLURM_JOB_NUM_NODES, SLURMD_NODENAME, ...), in a
# mount namespace whose /run/lifeboat is its own (a tmpfs): the nodes are separate machines, so
# the second part must not find the first one's container record and join it.
#
#   user-mpich      as TEST_USER (lbalice) through a setuid copy of lifeboat-run: MPICH 4.0
#                   (Hydra, ch4:ucx over TCP); the output of node 0's part must be exactly what a
#                   plain local run (mpiexec -launcher fork -n 4 on the host) prints, both parts
#                   exit 0 and print nothing else, the rendezvous directory is gone, and while the
#                   ranks run every process of the job (mpiexec, hydra_pmi_proxy, the ranks) is in
#                   one of the two containers' PID namespaces: 4 ranks, 2 proxies, 1 mpiexec.
#   user-openmpi    the same with Open MPI 4.1 (mpirun, its rsh agent being lifeboat-mpi-part,
#                   orted on node B): 4 ranks, 1 mpirun, 1 orted, all in the containers.
#   status-openmpi  as the user: rank 2 (on node B) exits 5, the others 0: both parts' launchers
#                   exit 5, mpirun's status.
#   move-mpich      as root (CRIU cannot dump another user's tree where root lacks
#   move-openmpi    CAP_SYS_RESOURCE, see README.md), a longer ring; once it runs, node B's
#                   container is moved to node C by the agent's recipe (README.md, "Network
#                   persistence"): CRIU dump inside the job's namespace with --tcp-established
#                   (tree left frozen), the namespace's link down and its name removed, the
#                   namespace rebuilt on node C under the same name with the same address and
#                   MAC, the root rebuilt from the manifest, CRIU restore into it, a gratuitous
#                   ARP, then the frozen source killed. Node A's established TCP connections to
#                   node B's address must be the same ones before and after the move, the ring
#                   must finish with the output of the local run, node A's launcher and the
#                   restored part must end with 0. Each move is timed, and the longest pause of
#                   the ring measured.
# Both MPIs must be installed (testbed/deps.sh): a missing one fails the test.
#
# MPICH is not in the default list: its jobs compute and print what they should, all inside the
# containers (and moved ones come through), but most runs then hang in MPI_Finalize, with or
# without a move: a UCX 1.13.1 TCP connection race as far as found (one rank's endpoint left in
# WAITING_ACK), reproduced without Lifeboat under `unshare --pid --fork --mount-proc`, never seen
# without PID namespaces. See launcher/README.md, "MPI across nodes".
#
#   launcher/tests/mpi-across-nodes.sh   (as root; CRIU >= 4.2 from testbed/criu.sh, or $CRIU)
# SCENARIOS="user-mpich move-mpich" runs those instead (default: user-openmpi status-openmpi
# move-openmpi).
# LBT_KEEP_LOGS=DIR copies the CRIU logs there; LBT_KEEP_WORK=1 keeps the work directory;
# LBT_DIAGNOSE=1 prints the jobs' sockets and processes on a failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
launcher_dir=$(dirname "$here")
repo_dir=$(dirname "$launcher_dir")
TEST_USER=${TEST_USER:-lbalice}
SCENARIOS=${SCENARIOS:-user-openmpi status-openmpi move-openmpi}
SUBNET=10.246.0
NETNS_DIR=/run/netns
RANKS_PER_NODE=2
SHORT_RING=(sum 40 50)  # 2 s: long enough to see every process running
LONG_RING=(sum 80 100)  # 8 s: node B moves after step 20

log() { printf 'mpi-across-nodes: %s\n' "$*" >&2; }
fail() {
    printf 'mpi-across-nodes: FAILED: %s\n' "$*" >&2
    [ -z "${LBT_DIAGNOSE:-}" ] || diagnose >&2
    exit 1
}
# diagnose: the jobs' sockets (ss, in each job namespace) and the state of each thread of every
# process of this test's MPI jobs (see job_process).
diagnose() {
    local ns pid task
    for ns in $(ip netns list | awk '{ print $1 }' | grep -- "-${prefix/lbmx/lbmx.}\$"); do
        echo "== $ns"
        ip netns exec "$ns" ss -tanoi
    done
    for pid in $(ls /proc | grep -E '^[0-9]+$'); do
        job_process "$pid" "" || continue
        echo "== $pid $(readlink "/proc/$pid/ns/pid") $(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-100)"
        for task in /proc/"$pid"/task/*; do
            echo "   thread ${task##*/}: $(cut -d' ' -f3 "$task/stat") in $(cat "$task/wchan")"
        done
    done
}

[ "$(id -u)" -eq 0 ] || fail "must run as root (setuid launcher, cgroups, namespaces, CRIU)"
CRIU=${CRIU:-$("$repo_dir/testbed/criu.sh")}
make -s -C "$launcher_dir" lifeboat-run
test_uid=$(id -u "$TEST_USER")
test_gid=$(id -g "$TEST_USER")
prefix=lbmx$$
NODES=("${prefix/lbmx/lbmxa}" "${prefix/lbmx/lbmxb}" "${prefix/lbmx/lbmxc}")

work=$(mktemp -d /tmp/lifeboat-mpi-across.XXXXXX)
chmod 755 "$work"
install -m 4755 "$launcher_dir/lifeboat-run" "$work/lifeboat-run"
mkdir "$work/job"
job_cgroups lifeboat-mpi-across
created_netns=() # what cleanup deletes: only namespaces this run made
jobs_started=()  # job ids, for their records
mkdir -p /run/lifeboat

cleanup() {
    local status=$? ns job
    kill_containers
    for pid in $(jobs -p); do kill -TERM "$pid" 2>/dev/null || true; done
    end_jobs
    remove_job_cgroups
    unmount_work
    # Deleting a namespace removes its interfaces (veth pairs, macvlans, the bridge) with it.
    for ns in "${created_netns[@]}"; do
        [ -n "$ns" ] && [ -e "$NETNS_DIR/$ns" ] && ip netns delete "$ns" 2>/dev/null || true
    done
    for job in "${jobs_started[@]}"; do rm -f "/run/lifeboat/jobs/$job-$test_uid" "/run/lifeboat/jobs/$job-0"; done
    [ -n "${LBT_KEEP_WORK:-}" ] || rm -rf "$work"
    exit $status
}
trap cleanup EXIT

add_netns() {
    [ ! -e "$NETNS_DIR/$1" ] || fail "$NETNS_DIR/$1 exists already"
    ip netns add "$1"
    created_netns+=("$1")
    ip -n "$1" link set lo up
}

# The switch and the three nodes plugged into it.
build_topology() {
    local index ns
    add_netns "$prefix-fabric"
    ip -n "$prefix-fabric" link add br0 type bridge
    ip -n "$prefix-fabric" link set br0 up
    for index in 0 1 2; do
        ns=$prefix-$(node_letter "$index")
        add_netns "$ns"
        ip -n "$prefix-fabric" link add "port$index" type veth peer name eth0 netns "$ns"
        ip -n "$prefix-fabric" link set "port$index" master br0 up
        ip -n "$ns" addr add "$SUBNET.$((index + 1))/24" dev eth0
        ip -n "$ns" link set eth0 up
    done
}
node_letter() { echo "abc" | cut -c$(($1 + 1)); }

# JOB PART: the job's address and MAC for part PART (the MAC is kept across a move): one pair per
# job and part, since a namespace's macvlan lingers a moment after its namespace was deleted.
job_host_number() { echo $((100 + 10 * ($1 - 950) + $2 + 1)); }
job_address() { echo "$SUBNET.$(job_host_number "$1" "$2")"; }
job_mac() { printf '02:42:0a:f6:00:%02x' "$(job_host_number "$1" "$2")"; }
job_netns_name() { echo "lifeboat-job-$1-${NODES[$2]}"; }   # JOB, the index of the part's first node

# job_netns JOB PART HOST: the job's namespace for part PART (named after the node the part
# started on, as the agent names it on a target too), its macvlan on node HOST's eth0.
job_netns() {
    local job=$1 part=$2 host=$prefix-$(node_letter "$3") ns
    ns=$(job_netns_name "$job" "$part")
    add_netns "$ns"
    # No IPv6: the link would send router solicitations from the job's MAC before it is restored
    # (see netns-tcp-roundtrip.sh); a gratuitous ARP announces it once restored.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$host" link add link eth0 name "mv$job$part" address "$(job_mac "$job" "$part")" type macvlan mode bridge
    ip -n "$host" link set "mv$job$part" netns "$ns"
    ip -n "$ns" link set "mv$job$part" name eth0
    ip -n "$ns" addr add "$(job_address "$job" "$part")/24" dev eth0
    ip -n "$ns" link set eth0 up
}

# build MPI: the ring for MPI, in the job's directory.
build() {
    command -v "mpicc.$1" >/dev/null || return 1
    "mpicc.$1" -O2 -o "$work/job/ring-$1" "$here/mpi-ring.c"
}

# reference MPI sum STEPS DELAY: what the ring prints in a plain local run on the host, as the user
# (without the delay, which changes nothing in what it prints).
reference() {
    local mpi=$1 steps=$3 file=$work/reference-$1-$3
    if [ ! -s "$file" ]; then
        if [ "$mpi" = mpich ]; then
            as_user mpiexec.mpich -launcher fork -n $((2 * RANKS_PER_NODE)) "./ring-$mpi" sum "$steps" 0 >"$file" 2>/dev/null
        else
            as_user mpirun.openmpi --oversubscribe -np $((2 * RANKS_PER_NODE)) "./ring-$mpi" sum "$steps" 0 >"$file" 2>/dev/null
        fi || fail "the local $mpi run failed"
    fi
    echo "$file"
}

# start_part AS JOB PART MPI ARGS...: part PART (0 or 1) of JOB on node PART, as srun would start
# it: lifeboat-run --network=job -- lifeboat-mpi-part --ranks-per-node 2 ./ring-MPI ARGS, as
# "user" or "root", in the job's cgroup with Slurm's variables, in a mount namespace with a
# /run/lifeboat of its own. Output in $work/job/part-JOB-PART.{out,err}, the launcher's own in
# $work/job/part-JOB-PART.log, the exit status file part-JOB-PART.status; the launcher's pid in
# $work/JOB-PART/outer.pid (root's also writes its manifest there).
start_part() {
    local as=$1 job=$2 part=$3 mpi=$4
    shift 4
    start_part_command "$as" "$job" "$part" --ranks-per-node "$RANKS_PER_NODE" "./ring-$mpi" "$@"
}

# start_part_command AS JOB PART ARGS...: the same with lifeboat-mpi-part ARGS.
start_part_command() {
    local as=$1 job=$2 part=$3 launcher=$launcher_dir/lifeboat-run user=() options=()
    local dir=$work/$2-$3 name=part-$2-$3
    shift 3
    mkdir -p "$dir"
    if [ "$as" = user ]; then
        launcher=$work/lifeboat-run
        user=(setpriv --reuid="$test_uid" --regid="$test_gid" --clear-groups)
    else
        options=(--manifest "$dir/manifest.json")
    fi
    (
        enter_cgroup "job_$job/step_0"
        cd "$work/job"
        export SLURM_JOB_ID=$job SLURM_STEP_ID=0 SLURM_PROCID=$part SLURM_LOCALID=0 SLURM_NODEID=$part
        export SLURM_JOB_NUM_NODES=2 SLURM_NNODES=2 SLURM_NTASKS=2 SLURM_CPUS_ON_NODE=$RANKS_PER_NODE
        export SLURMD_NODENAME=${NODES[$part]} SLURM_JOB_NODELIST="${NODES[0]},${NODES[1]}"
        export SLURM_NODELIST=$SLURM_JOB_NODELIST
        # A job's environment need not name a shell (a cron-started submission's, CI's), and the
        # users' login shell is nologin: the parts must not depend on $SHELL.
        unset SHELL
        if [ "$as" = root ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
        exec unshare --mount --propagation private sh -c \
            'mount -t tmpfs -o mode=0755,nosuid,nodev lifeboat-node /run/lifeboat && exec "$@"' sh \
            "${user[@]}" "$launcher" --network=job "${options[@]}" --stdout "$name.out" --stderr "$name.err" \
            --exit-status-file "$name.status" -- ./lifeboat-mpi-part "$@"
    ) >"$work/job/$name.log" 2>&1 &
    echo $! >"$dir/outer.pid"
}

# init_of_part JOB PART: the container init below the part's launcher.
init_of_part() { pgrep -P "$(cat "$work/$1-$2/outer.pid")" -f '^lifeboat-init --container-init' || true; }

# running PID: PID is alive (kill -0 also succeeds for a child that has ended and not been
# waited for).
running() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]; }

# finish_part JOB PART CODE: the part's launcher exits CODE within 60 s.
finish_part() {
    local pid code=0
    pid=$(cat "$work/$1-$2/outer.pid")
    wait_until 60 "part $2 of job $1 to end" bash -c "$(declare -f running); ! running $pid"
    wait "$pid" || code=$?
    [ "$code" = "$3" ] ||
        fail "job $1: part $2's launcher exited $code, expected $3: $(cat "$work/job/part-$1-$2".{log,err} 2>/dev/null)"
}

# job_process PID JOB: PID runs one of this test's rings, is a shell running lifeboat-mpi-part,
# or has JOB's rendezvous directory (any job's if JOB is empty) in its environment: it belongs to
# the MPI job.
job_process() {
    local exe
    exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
    [[ $exe == "$work/job/ring-"* ]] && return 0
    tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | sed -n 2p | grep -q "lifeboat-mpi-part$" && return 0
    tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | grep -q "^LIFEBOAT_MPI_RENDEZVOUS=$work/job/.lifeboat-mpi.${2:-[0-9]*}.0.0$"
}

# check_processes JOB MPI: every process of the MPI job (job_process) lies in one of the two
# containers' PID namespaces, and the expected ones are there.
check_processes() {
    local job=$1 mpi=$2 part pid ns inside=() outside=() namespaces=() counts expected
    for part in 0 1; do
        pid=$(init_of_part "$job" "$part")
        [ -n "$pid" ] || fail "job $job: part $part has no container"
        namespaces+=("$(readlink "/proc/$pid/ns/pid")")
    done
    [ "${namespaces[0]}" != "${namespaces[1]}" ] || fail "job $job: both parts in one container"
    for pid in $(ls /proc | grep -E '^[0-9]+$'); do
        job_process "$pid" "$job" || continue
        ns=$(readlink "/proc/$pid/ns/pid" 2>/dev/null) || continue
        if [ "$ns" = "${namespaces[0]}" ] || [ "$ns" = "${namespaces[1]}" ]; then
            inside+=("$(basename "$(readlink "/proc/$pid/exe")")")
        else
            outside+=("$pid $(tr '\0' ' ' <"/proc/$pid/cmdline")")
        fi
    done
    [ ${#outside[@]} = 0 ] || fail "job $job: processes of the MPI job outside the containers: ${outside[*]}"
    counts=$(printf '%s\n' "${inside[@]}" | sort | uniq -c | awk '{ printf "%s %s, ", $1, $2 }')
    if [ "$mpi" = mpich ]; then
        for expected in "4 ring-mpich" "2 hydra_pmi_proxy" "1 mpiexec.hydra"; do
            [[ ", $counts" == *", $expected,"* ]] || fail "job $job: expected $expected in the containers, found: $counts"
        done
    else
        for expected in "4 ring-openmpi" "1 orted" "1 orterun"; do
            [[ ", $counts" == *", $expected,"* ]] || fail "job $job: expected $expected in the containers, found: $counts"
        done
    fi
    log "job $job: in the containers: ${counts%, }; outside: none"
}

# check_result JOB MPI ARGS...: node 0's output is the local run's, nothing else was printed, and
# the rendezvous directory is gone.
check_result() {
    local job=$1 mpi=$2 expected part
    shift 2
    expected=$(reference "$mpi" "$@")
    cmp -s "$expected" "$work/job/part-$job-0.out" ||
        fail "job $job: node 0 printed other than the local run: $(diff "$expected" "$work/job/part-$job-0.out" | head -n 10)"
    [ ! -s "$work/job/part-$job-1.out" ] || fail "job $job: node 1 printed: $(head -n 5 "$work/job/part-$job-1.out")"
    for part in 0 1; do
        [ ! -s "$work/job/part-$job-$part.err" ] ||
            fail "job $job: part $part wrote to stderr: $(head -n 10 "$work/job/part-$job-$part.err")"
    done
    [ ! -e "$work/job/.lifeboat-mpi.$job.0.0" ] || fail "job $job: the rendezvous directory is left"
}

scenario_user() {
    local mpi=$1 job=$2 started
    jobs_started+=("$job")
    job_netns "$job" 0 0
    job_netns "$job" 1 1
    started=$(now)
    start_part user "$job" 0 "$mpi" "${SHORT_RING[@]}"
    start_part user "$job" 1 "$mpi" "${SHORT_RING[@]}"
    wait_until 30 "job $job's ring to run" grep -qs '^step 5 ' "$work/job/part-$job-0.out"
    check_processes "$job" "$mpi"
    finish_part "$job" 0 0
    finish_part "$job" 1 0
    check_result "$job" "$mpi" "${SHORT_RING[@]}"
    log "user-$mpi: $((2 * RANKS_PER_NODE)) ranks on 2 nodes, as $TEST_USER: the local run's $(wc -l <"$work/job/part-$job-0.out") lines, both parts exited 0, in $(elapsed "$started" "$(now)") s"
}

# The job's status: rank 2 (on node B) exits 5, the others 0: both parts end with 5, mpirun's.
scenario_status() {
    local job=958 part started
    jobs_started+=("$job")
    job_netns "$job" 0 0
    job_netns "$job" 1 1
    started=$(now)
    for part in 0 1; do
        start_part_command user "$job" "$part" --mpi openmpi -- sh -c '[ "$OMPI_COMM_WORLD_RANK" != 2 ] || exit 5'
    done
    finish_part "$job" 0 5
    finish_part "$job" 1 5
    log "status-openmpi: rank 2 on node B exited 5: both parts' launchers exited 5, in $(elapsed "$started" "$(now)") s"
}

# move JOB PART TARGET: the agent's recipe, part PART's container to node TARGET.
move() {
    local job=$1 part=$2 target=$3 dir=$work/$1-$2 ns init images externals t0 t1 t2 t3 t4 step
    ns=$(job_netns_name "$job" "$part")
    images=$dir/images
    init=$(init_of_part "$job" "$part")
    mkdir -p "$images"
    cp "$dir/manifest.json" "$dir/manifest.copy.json"
    echo "$init" >"$dir/init.pid"
    mapfile -t externals < <(externals "$job-$part" dump)
    t0=$(now)
    # --tcp-established: the ranks', proxy's or orted's connections to node A; --network-lock
    # nftables: the default (iptables) is not installed; --ghost-limit: UCX's unlinked /dev/shm
    # files; --leave-stopped: frozen until the target runs it (see netns-tcp-roundtrip.sh).
    criu_prefix=(nsenter --net="$NETNS_DIR/$ns")
    criu_run "$images/dump.log" dump -t "$init" -D "$images" --tcp-established --network-lock nftables \
        --ghost-limit 64M --leave-stopped --file-locks "${externals[@]}" -o dump.log -v4
    t1=$(now)
    step=$(grep -c '^step ' "$work/job/part-$job-0.out" || true)
    # The address leaves the source before it appears on the target; the frozen tree holds the
    # namespace once its name is gone.
    ip -n "$ns" link set eth0 down
    ip netns delete "$ns"
    created_netns=("${created_netns[@]/$ns/}")
    job_netns "$job" "$part" "$target"
    t2=$(now)
    make_root "$job-$part" "$dir/target-root"
    mapfile -t externals < <(externals "$job-$part" restore)
    t3=$(now)
    criu_prefix=(nsenter --net="$NETNS_DIR/$ns")
    criu_run "$images/restore.log" restore -D "$images" -d --root "$dir/target-root" --pidfile "$dir/restored.pid" \
        --tcp-established --file-locks "${externals[@]}" -o restore.log -v4
    t4=$(now)
    criu_prefix=()
    garp "$ns" "$(job_address "$job" "$part")"
    umount "$dir/target-root"
    if [ -n "${LBT_KEEP_LOGS:-}" ]; then
        mkdir -p "$LBT_KEEP_LOGS" && cp "$images/dump.log" "$LBT_KEEP_LOGS/$job-$part-dump.log" &&
            cp "$images/restore.log" "$LBT_KEEP_LOGS/$job-$part-restore.log"
    fi
    # The source, once the target runs the part: its launcher then exits 137.
    kill -KILL "$init"
    finish_part "$job" "$part" 137
    [ "$(readlink "/proc/$(cat "$dir/restored.pid")/ns/net")" = "net:[$(stat -L -c %i "$NETNS_DIR/$ns")]" ] ||
        fail "job $job: part $part was not restored into the rebuilt $ns"
    timings+=("job $job: moved at step $step: dump (frozen) $(elapsed "$t0" "$t1") s, address moved $(elapsed "$t1" "$t2") s, root $(elapsed "$t2" "$t3") s, restore $(elapsed "$t3" "$t4") s, dump start to restore end $(elapsed "$t0" "$t4") s")
    log "${timings[-1]}"
}

# watch_steps FILE LOG: every 50 ms, the time and FILE's number of step lines, into LOG (until killed).
watch_steps() {
    while true; do
        printf '%s %s\n' "$(now)" "$(grep -cs '^step ' "$1")"
        sleep 0.05
    done >"$2"
}

# longest_pause LOG: the longest time the count in LOG stood still between two steps.
longest_pause() {
    awk 'NR == 1 || $2 != count { if (count > 0 && $1 - since > pause) pause = $1 - since; since = $1; count = $2 }
        END { printf "%.2f\n", pause }' "$1"
}

# connections JOB: node A's established TCP connections to node B's part (address:port pairs,
# sorted), seen in A's job namespace.
connections() {
    ip netns exec "$(job_netns_name "$1" 0)" ss -Htn state established dst "$(job_address "$1" 1)" |
        awk '{ print $3, $4 }' | sort
}

scenario_move() {
    local mpi=$1 job=$2 started restored watcher before after
    jobs_started+=("$job")
    job_netns "$job" 0 0
    job_netns "$job" 1 1
    started=$(now)
    start_part root "$job" 0 "$mpi" "${LONG_RING[@]}"
    start_part root "$job" 1 "$mpi" "${LONG_RING[@]}"
    watch_steps "$work/job/part-$job-0.out" "$work/$job-steps.log" &
    watcher=$!
    wait_until 30 "job $job's ring to run" grep -qs '^step 20 ' "$work/job/part-$job-0.out"
    check_processes "$job" "$mpi"
    before=$(connections "$job")
    [ -n "$before" ] || fail "job $job: node A holds no connection to node B"
    move "$job" 1 2
    # The same connections, established, a few steps after the restore: none was broken and
    # made again (the MPIs would not make them again anyway: a broken one ends the job).
    wait_until 10 "job $job's ring to go on" grep -qs "^step $(($(grep -c '^step ' "$work/job/part-$job-0.out") + 5)) " \
        "$work/job/part-$job-0.out"
    after=$(connections "$job")
    [ "$before" = "$after" ] || fail "job $job: node A's connections to node B were $before, are $after after the move"
    finish_part "$job" 0 0
    kill "$watcher"
    timings[-1]+=", longest pause between two steps $(longest_pause "$work/$job-steps.log") s (${LONG_RING[2]} ms normally)"
    restored=$(cat "$work/$job-1/restored.pid")
    wait_until 30 "the restored part's container to end" bash -c "! kill -0 $restored 2>/dev/null"
    [ "$(cat "$work/job/part-$job-1.status" 2>/dev/null)" = 0 ] ||
        fail "job $job: the restored part ended with '$(cat "$work/job/part-$job-1.status" 2>/dev/null)': $(cat "$work/job/part-$job-1.err")"
    check_result "$job" "$mpi" "${LONG_RING[@]}"
    log "move-$mpi: node B's part moved to node C mid-ring, node A's $(wc -l <<<"$before") connections to it kept; the local run's $(wc -l <"$work/job/part-$job-0.out") lines, node A exited 0, the restored part 0, in $(elapsed "$started" "$(now)") s"
}

build mpich || fail "MPICH is not installed (testbed/deps.sh: mpich libmpich-dev)"
build openmpi || fail "Open MPI is not installed (testbed/deps.sh: openmpi-bin libopenmpi-dev)"
cp "$here/../lifeboat-mpi-part" "$work/job/"
chown -R "$test_uid:$test_gid" "$work/job"
timings=()
log "user $TEST_USER, CRIU $("$CRIU" --version | awk '/^Version/ { print $2 }'), nodes ${NODES[*]}, work directory $work"
build_topology
passed=0
for scenario in $SCENARIOS; do
    case $scenario in
    user-mpich) scenario_user mpich 950 ;;
    user-openmpi) scenario_user openmpi 951 ;;
    move-mpich) scenario_move mpich 952 ;;
    status-openmpi) scenario_status ;;
    move-openmpi) scenario_move openmpi 953 ;;
    *) fail "unknown scenario $scenario" ;;
    esac
    passed=$((passed + 1))
done
for line in "${timings[@]}"; do log "timings: $line"; done
echo "mpi-across-nodes: $passed passed, 0 failed"
