#!/usr/bin/env bash
# Proves with real CRIU that `lifeboat-run --network=loopback` containers carry TCP connections on
# 127.0.0.1 between their own processes across checkpoints and restores, as Open MPI's mpirun's
# connections to its ranks must, and that real MPI jobs move so.
#
#   launcher/tests/loopback-tcp-roundtrip.sh        (as root; CRIU from testbed/criu.sh, or $CRIU)
#
# The jobs, each in a loopback container of its own, as root (CRIU cannot dump another user's tree
# where root lacks CAP_SYS_RESOURCE, see README.md), each counting 1, 2, 3, ... into seq in its
# working directory every 100 ms until the file stop exists:
#   pair     pair.py: a server listening on 127.0.0.1 forks a client, which connects once and sends
#            the numbers; the server writes them. Neither reconnects: a broken connection shows as
#            numbers that stop, an EOF line, or a second "client" line on stdout. Ends with 3.
#   openmpi  tests/mpi-ring.c under `mpirun.openmpi -np 4`: rank 0 writes a number per trip of a
#            token round the ranks (its negative if the token comes back wrong). mpirun holds a
#            TCP connection on 127.0.0.1 to each rank. Ends with 0.
#   mpich    the same under `mpiexec.mpich -launcher fork -np 4` (Hydra: Unix socket pairs to
#            the ranks, a listening TCP socket), with UCX_TLS=^sysv: UCX's System V shared
#            memory lies in the node's IPC namespace, which CRIU refuses to dump ("SysVIPC shmem
#            map ... doesn't live in IPC ns"); its POSIX one, in the container's /dev/shm, moves.
#            Ends with 0.
# (Both MPIs must be installed, testbed/deps.sh: a missing one fails.) Each is moved ROUNDS (3) times in a row,
# by the agent's recipe (launcher/README.md):
#   dump     CRIU run inside the container's own network namespace, reached through its init
#            (nsenter --net=/proc/INIT/ns/net), so it neither saves nor needs to recreate it, with
#            --tcp-established, the tree left stopped; the manifest's mounts, sys-cpu and sys-node
#            among them, as --external mnt[...];
#   restore  into a fresh named namespace with only lo, up (ip netns add; ip -n NS link set lo up),
#            CRIU run inside it, into a root rebuilt from the manifest's skeleton; then the frozen
#            source tree is killed (its sockets are in repair mode: nothing is sent), and the
#            namespace's name removed (the tree holds the namespace).
# Checked: the manifest says version 4 and "network": "loopback" and lists sys-cpu; the restored
# init is in the new namespace, which holds only lo, up; the numbers are exactly 1..N and grow
# past each dump point; the topology mounts come back read-only, nosuid, nodev, noexec and alone
# in /sys; each job ends with its own status. Each move is timed. LBT_KEEP_LOGS=DIR copies the
# CRIU logs there.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
launcher_dir=$(dirname "$here")
repo_dir=$(dirname "$launcher_dir")
ROUNDS=${ROUNDS:-3}

log() { printf 'loopback-tcp: %s\n' "$*" >&2; }
fail() {
    printf 'loopback-tcp: FAILED: %s\n' "$*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || fail "must run as root (CRIU, namespaces)"
CRIU=${CRIU:-$("$repo_dir/testbed/criu.sh")}
make -s -C "$launcher_dir" lifeboat-run
[ -x "$PY" ] || fail "$PY is needed (the job)"

work=$(mktemp -d /tmp/lifeboat-loopback-tcp.XXXXXX)
created_netns=() # what cleanup deletes: only namespaces this run created

cleanup() {
    local status=$? ns
    kill_containers
    end_jobs
    for ns in "${created_netns[@]}"; do
        [ -e "/run/netns/$ns" ] && ip netns delete "$ns" 2>/dev/null || true
    done
    unmount_work
    rm -rf "$work"
    exit $status
}
trap cleanup EXIT

cat >"$work/pair.py" <<'PY'
import os, socket, sys, time
seq, stop = sys.argv[1], sys.argv[2]
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
if os.fork() == 0:
    connection = socket.create_connection(listener.getsockname())
    listener.close()
    print("client %s:%d connected to %s:%d" % (connection.getsockname() + connection.getpeername()), flush=True)
    number = 1
    while not os.path.exists(stop):
        connection.sendall(b"%d\n" % number)
        number += 1
        time.sleep(0.1)
    sys.exit(0)
connection, _ = listener.accept()
out = open(seq, "a", buffering=1)
pending = b""
while True:
    data = connection.recv(4096)
    if not data:
        break
    pending += data
    *lines, pending = pending.split(b"\n")
    for line in lines:
        out.write(line.decode() + "\n")
os.wait()
# The client closes only once told to stop: an end before that is a broken connection.
if not os.path.exists(stop):
    out.write("EOF\n")
    sys.exit(1)
sys.exit(3)
PY

# start NAME STATUS -- COMMAND...: COMMAND in a loopback container of its own, working directory
# $work/NAME/job (filled by the caller), counting; STATUS is the exit status it will end with.
start() {
    local name=$1 dir=$work/$1
    echo "$2" >"$dir/expected-status"
    shift 3
    "$launcher_dir/lifeboat-run" --network=loopback --state-dir "$dir/state" --manifest "$dir/manifest.json" \
        --chdir "$dir/job" --stdout "$dir/job/out" --stderr "$dir/job/err" --exit-status-file "$dir/job/status" \
        -- "$@" >"$dir/launcher.log" 2>&1 &
    echo $! >"$dir/outer.pid"
    wait_until 10 "the manifest of $name" test -s "$dir/manifest.json"
    cp "$dir/manifest.json" "$dir/manifest.copy.json"
    "$PY" - "$dir/manifest.copy.json" >"$dir/init.pid" <<'PY' || fail "$name: manifest"
import json, sys
manifest = json.load(open(sys.argv[1]))
assert manifest["version"] == 4 and manifest["network"] == "loopback" and manifest["netns"] is None, manifest
assert "sys-cpu" in [m["key"] for m in manifest["mounts"]], manifest["mounts"]
print(manifest["init-pid"])
PY
    wait_until 30 "$name to count" count_at_least "$dir/job/seq" 10
    log "$name: counting, init pid $(cat "$dir/init.pid")"
}

# check_topology NAME INIT: the restored container's /sys holds the topology mounts, read-only,
# nosuid, nodev, noexec, nothing else of the host's /sys, and of /sys/class only net/lo (the
# root's link listing the container's interface, rebuilt from the manifest's skeleton).
check_topology() {
    "$PY" - "$work/$1/manifest.copy.json" "/proc/$2/mountinfo" <<'PY' || fail "$1: /sys after the restore"
import json, sys
manifest = json.load(open(sys.argv[1]))
options = {}
for line in open(sys.argv[2]):
    fields = line.split()
    options[fields[4]] = set(fields[5].split(","))
topology = [m["target"] for m in manifest["mounts"] if m["key"].startswith("sys-")]
assert "/sys/devices/system/cpu" in topology
for target in topology:
    assert {"ro", "nosuid", "nodev", "noexec"} <= options.get(target, set()), (target, options.get(target))
others = [point for point in options if point.startswith("/sys") and point not in topology]
assert not others, others
PY
    [ -r "/proc/$2/root/sys/devices/system/cpu/online" ] && [ "$(ls "/proc/$2/root/sys/class")" = net ] &&
        [ "$(ls "/proc/$2/root/sys/class/net")" = lo ] ||
        fail "$1: the restored /sys is not the topology and /sys/class/net/lo alone"
}

# migrate NAME ROUND: dumps the container from inside its namespace, restores it into a fresh
# one, kills the frozen source tree, and checks the job carries on.
migrate() {
    local name=$1 round=$2 dir=$work/$1 images=$work/$1/images.$2 ns=lbt-loop-$$-$2 init restored externals dumped_at
    local t0 t1 t2 t3
    init=$(cat "$dir/init.pid")
    mkdir -p "$images"
    mapfile -t externals < <(externals "$name" dump)
    [ "$(readlink "/proc/$init/ns/net")" != "$(readlink /proc/self/ns/net)" ] || fail "$name: the container has the node's network"
    t0=$(now)
    # In the container's own namespace, reached through its init (it has no name): CRIU does not
    # try to save it (it is CRIU's own), and its TCP repair and network lock act on the job's stack.
    # --tcp-established: save the connection's state (sequence numbers, queues) in repair mode
    #   and leave the sockets in it, so the frozen source sends nothing when it is killed.
    # --network-lock nftables: the default lock is iptables, not installed here.
    # --ghost-limit: UCX (MPICH) maps files of 4 MiB in /dev/shm and unlinks them; CRIU saves such
    #   a "ghost" file in the images only up to this size (default 1 MiB).
    # --leave-stopped, --file-locks, --external, -o/-v4: as in criu-roundtrip.sh.
    criu_prefix=(nsenter --net="/proc/$init/ns/net")
    criu_run "$images/dump.log" dump -t "$init" -D "$images" --tcp-established --network-lock nftables \
        --ghost-limit 64M --leave-stopped --file-locks "${externals[@]}" -o dump.log -v4
    t1=$(now)
    dumped_at=$(last_number "$dir/job/seq")
    # The target: a fresh namespace with lo up (CRIU probes TCP repair over it, and the sockets
    # are re-bound to 127.0.0.1 there), and the root rebuilt from the skeleton.
    ip netns add "$ns"
    created_netns+=("$ns")
    ip -n "$ns" link set lo up
    make_root "$name" "$dir/root.$round"
    mapfile -t externals < <(externals "$name" restore)
    t2=$(now)
    # -d, --root, --pidfile: as in criu-roundtrip.sh; --tcp-established: rebuild the connection
    # with TCP repair, both of its ends being in the tree. (No --network-lock: taken from the images.)
    criu_prefix=(nsenter --net="/run/netns/$ns")
    criu_run "$images/restore.log" restore -D "$images" -d --root "$dir/root.$round" --pidfile "$dir/restored.$round.pid" \
        --tcp-established --file-locks "${externals[@]}" -o restore.log -v4
    t3=$(now)
    criu_prefix=()
    umount "$dir/root.$round"
    if [ -n "${LBT_KEEP_LOGS:-}" ]; then
        mkdir -p "$LBT_KEEP_LOGS" && cp "$images/dump.log" "$LBT_KEEP_LOGS/$name-$round-dump.log" &&
            cp "$images/restore.log" "$LBT_KEEP_LOGS/$name-$round-restore.log"
    fi
    # The source side, once the target runs the job: the first source is lifeboat-run's
    # container, which then exits 137; a later one is the tree the previous round restored.
    kill -KILL "$init"
    if [ "$round" = 1 ]; then
        local code=0
        wait "$(cat "$dir/outer.pid")" || code=$?
        [ "$code" = 137 ] || fail "$name: the source's lifeboat-run exited $code, expected 137"
    fi
    restored=$(cat "$dir/restored.$round.pid")
    [ "$(stat -L -c %i "/proc/$restored/ns/net")" = "$(stat -L -c %i "/run/netns/$ns")" ] ||
        fail "$name: restored outside $ns"
    [ "$(ip -n "$ns" -o link show | wc -l)" = 1 ] && ip -n "$ns" -o link show lo | grep -q '[<,]UP[,>]' ||
        fail "$name: $ns holds more than lo, up: $(ip -n "$ns" -o link show)"
    # The name is the agent's handle for the restore only: the tree holds the namespace, and the
    # next dump reaches it through the init.
    ip netns delete "$ns"
    echo "$restored" >"$dir/init.pid"
    wait_until 10 "$name to count past $dumped_at" count_at_least "$dir/job/seq" $((dumped_at + 10))
    check_sequence "$dir/job/seq"
    check_topology "$name" "$restored"
    timings+=("$name, round $round: dump (frozen) $(elapsed "$t0" "$t1") s, restore $(elapsed "$t2" "$t3") s, dump start to restore end $(elapsed "$t0" "$t3") s; dumped at $dumped_at")
    log "${timings[-1]}"
}

# stop NAME: the job ends with its own status once told to; the restored init then ends.
stop() {
    local dir=$work/$1 init
    init=$(cat "$dir/init.pid")
    touch "$dir/job/stop"
    wait_until 20 "$1's exit status" test -s "$dir/job/status"
    [ "$(cat "$dir/job/status")" = "$(cat "$dir/expected-status")" ] ||
        fail "$1: exit status $(cat "$dir/job/status"), expected $(cat "$dir/expected-status"): $(cat "$dir/job/err")"
    check_sequence "$dir/job/seq"
    wait_until 10 "$1's restored init to end" bash -c "! kill -0 $init 2>/dev/null"
    log "$1: moved $ROUNDS times, $(last_number "$dir/job/seq") numbers in order, ended with $(cat "$dir/job/status")"
}

# job_dir NAME: a fresh working directory for job NAME.
job_dir() { mkdir -p "$work/$1/job" && echo "$work/$1/job"; }

scenario_pair() {
    local round
    cp "$work/pair.py" "$(job_dir pair)"
    start pair 3 -- "$PY" -u pair.py seq stop
    for round in $(seq "$ROUNDS"); do
        migrate pair "$round"
        [ "$(grep -c '^client ' "$work/pair/job/out")" = 1 ] || fail "pair: the client connected again: $(cat "$work/pair/job/out")"
    done
    log "pair: $(cat "$work/pair/job/out"), that one connection throughout"
    stop pair
}

# scenario_mpi NAME COMMAND...: the ring, built with NAME's mpicc, run by COMMAND, moved.
scenario_mpi() {
    local name=$1 round
    shift
    command -v "mpicc.$name" >/dev/null || fail "$name is not installed (testbed/deps.sh installs it)"
    "mpicc.$name" -O2 -o "$(job_dir "$name")/ring" "$here/mpi-ring.c"
    start "$name" 0 -- "$@" ./ring seq stop
    for round in $(seq "$ROUNDS"); do
        migrate "$name" "$round"
    done
    stop "$name"
}

timings=()
log "CRIU $("$CRIU" --version | awk '/^Version/ { print $2 }'), work directory $work"
scenario_pair
# As root in the test, which mpirun refuses unless told.
scenario_mpi openmpi mpirun.openmpi --allow-run-as-root --oversubscribe -np 4
scenario_mpi mpich env UCX_TLS=^sysv mpiexec.mpich -launcher fork -np 4
for line in "${timings[@]}"; do log "timings: $line"; done
echo "loopback-tcp-roundtrip: 3 jobs moved $ROUNDS times each with their TCP connections on 127.0.0.1, 0 failed"
