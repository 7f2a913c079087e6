#!/usr/bin/env bash
# Proves with real CRIU that a lifeboat-run container in its own network namespace keeps its IP
# address and its established TCP connection across a migration to another "host".
#
#   launcher/tests/netns-tcp-roundtrip.sh        (as root; CRIU from testbed/criu.sh, or $CRIU)
#
# CRIU 4.1.1 cannot dump any inet socket on Linux >= 6.16 (SO_PASSCRED/SO_PASSSEC are refused
# there, fixed in CRIU 4.2): testbed/criu.sh provides 4.2.1.
# LBT_KEEP_LOGS=DIR copies the CRIU logs there.
#
# Topology, all in network namespaces this script creates (nothing is added to the machine's own
# namespace, and no packet leaves these namespaces):
#
#   lbt-fabric   the "switch": bridge lbtbr0 with the gateway address 10.242.0.1/24
#   lbt-src      source host, eth0 = 10.242.0.11 (veth to the bridge)
#   lbt-dst      destination host, eth0 = 10.242.0.12 (veth to the bridge)
#   lbt-peer     the outside server, eth0 = 10.242.0.50, TCP port 7000
#   lbt-job1/2   a job's own namespace: eth0 = a macvlan (bridge mode) on its host's eth0, with the
#                job's address (10.242.0.101 / .102) and a fixed MAC, lo up, default via 10.242.0.1
#
# Phase 1: job1 starts on lbt-src under `lifeboat-run --netns /run/netns/lbt-job1`, connects once
# to the server and sends 1, 2, 3, ... every 100 ms over that one connection; it is dumped with its
# TCP connection, its interface is taken down on the source, its namespace is rebuilt on lbt-dst
# (same name, address, MAC, routes), the tree is restored there, and only then is the source's
# frozen tree killed. Phase 2: job2 (.102) does the same while job1 keeps running on lbt-dst, so
# two migrated jobs end up side by side on the destination.
# Checked: the server accepted exactly one connection per job, every job's numbers are exactly
# 1..N (no reset, no repeat, no gap), and they keep growing after the restore.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
launcher_dir=$(dirname "$here")
repo_dir=$(dirname "$launcher_dir")

log() { printf 'netns-tcp: %s\n' "$*" >&2; }
fail() {
    printf 'netns-tcp: FAILED: %s\n' "$*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || fail "must run as root"
CRIU=${CRIU:-$("$here/../../testbed/criu.sh")}
make -s -C "$launcher_dir" lifeboat-run
[ -x "$PY" ] || fail "$PY is needed (client, server)"

SUBNET_PREFIX=10.242.0
GATEWAY=$SUBNET_PREFIX.1
SERVER=$SUBNET_PREFIX.50
PORT=7000
HOSTS=(lbt-fabric lbt-src lbt-dst lbt-peer)
for ns in "${HOSTS[@]}" lbt-job1 lbt-job2; do
    [ ! -e "/run/netns/$ns" ] || fail "/run/netns/$ns exists already (a previous run left it?)"
done

work=$(mktemp -d /tmp/lifeboat-netns-tcp.XXXXXX)
created_netns=() # what cleanup deletes: only namespaces this run created


cleanup() {
    local status=$? ns
    kill_containers
    if [ -s "$work/server.pid" ]; then
        kill -KILL "$(cat "$work/server.pid")" 2>/dev/null || true
    fi
    end_jobs
    # Deleting a namespace removes its interfaces (veth pairs, macvlans, the bridge) with it.
    for ns in "${created_netns[@]}"; do
        [ -n "$ns" ] && [ -e "/run/netns/$ns" ] && ip netns delete "$ns" 2>/dev/null || true
    done
    unmount_work
    rm -rf "$work"
    exit $status
}
trap cleanup EXIT



# criu_in NETNS LOG ARGS...: runs CRIU inside the job's network namespace (so CRIU neither dumps
# nor recreates it, and its TCP repair and nftables lock act on the job's own stack); judged by the
# exit code, the end of the log quoted on failure.
criu_in() {
    local netns=$1 log_file=$2
    shift 2
    if ! nsenter --net="/run/netns/$netns" "$CRIU" "$@"; then
        printf 'netns-tcp: criu %s failed; end of %s:\n' "$1" "$log_file" >&2
        { tail -n 25 "$log_file" 2>&1 || true; } | sed 's/^/    /' >&2
        fail "criu $1 in $netns"
    fi
}

add_netns() {
    ip netns add "$1"
    created_netns+=("$1")
    ip -n "$1" link set lo up
}

# The "cluster": a switch namespace with the bridge, and three hosts plugged into it.
build_topology() {
    add_netns lbt-fabric
    ip -n lbt-fabric link add lbtbr0 type bridge
    ip -n lbt-fabric addr add "$GATEWAY/24" dev lbtbr0
    ip -n lbt-fabric link set lbtbr0 up
    local ns address
    for ns in lbt-src:11 lbt-dst:12 lbt-peer:50; do
        address=$SUBNET_PREFIX.${ns#*:}
        ns=${ns%:*}
        add_netns "$ns"
        ip -n lbt-fabric link add "${ns#lbt-}-port" type veth peer name eth0 netns "$ns"
        ip -n lbt-fabric link set "${ns#lbt-}-port" master lbtbr0 up
        ip -n "$ns" addr add "$address/24" dev eth0
        ip -n "$ns" link set eth0 up
        ip -n "$ns" route add default via "$GATEWAY"
    done
}

# job_netns JOB HOST ADDRESS MAC: the job's namespace on HOST: a macvlan in bridge mode on HOST's
# eth0, moved into /run/netns/lbt-JOB and named eth0 there, with the job's own MAC and address, lo
# up (CRIU probes TCP repair over lo) and a default route. The same on source and destination:
# only the lower device differs.
job_netns() {
    local job=$1 host=$2 address=$3 mac=$4 ns=lbt-$1
    add_netns "$ns"
    # No IPv6 on the job's link: bringing it up would send router solicitations/MLD reports from
    # the job's MAC, teaching the switch the new port before the job's sockets exist there (a
    # peer's segment arriving then would be answered with a RST). The job announces itself with
    # a gratuitous ARP once restored instead.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$host" link add link eth0 name "mv-$job" address "$mac" type macvlan mode bridge
    ip -n "$host" link set "mv-$job" netns "$ns"
    ip -n "$ns" link set "mv-$job" name eth0
    ip -n "$ns" addr add "$address/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "$GATEWAY"
}

write_programs() {
    # The server, in lbt-peer: one line per accept in accepts.log, and per client address one
    # line "TIME NUMBER" per number received in DIR/ADDRESS.seq.
    cat >"$work/server.py" <<'PY'
import socket, sys, threading, time
address, port, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind((address, port))
listener.listen(16)
accepts = open(directory + "/accepts.log", "a", buffering=1)
def serve(connection, peer):
    out = open("%s/%s.seq" % (directory, peer[0]), "a", buffering=1)
    pending = b""
    while True:
        data = connection.recv(4096)
        if not data:
            out.write("%.3f EOF\n" % time.time())
            return
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            out.write("%.3f %s\n" % (time.time(), line.decode()))
while True:
    connection, peer = listener.accept()
    accepts.write("%.3f %s %d\n" % (time.time(), peer[0], peer[1]))
    threading.Thread(target=serve, args=(connection, peer), daemon=True).start()
PY
    # The job: connects once, then sends 1, 2, 3, ... every 100 ms; any error ends it (it never
    # reconnects, so a broken connection shows as a stalled count, a second accept, or an EOF).
    cat >"$work/client.py" <<'PY'
import socket, sys, time
connection = socket.create_connection((sys.argv[1], int(sys.argv[2])))
print("connected from %s:%d" % connection.getsockname(), flush=True)
number = 1
while True:
    connection.sendall(b"%d\n" % number)
    number += 1
    time.sleep(0.1)
PY
}

start_server() {
    mkdir -p "$work/server"
    ip netns exec lbt-peer "$PY" -u "$work/server.py" "$SERVER" "$PORT" "$work/server" \
        >"$work/server/server.log" 2>&1 &
    echo $! >"$work/server.pid"
    wait_until 10 "the server to listen" ip netns exec lbt-peer "$PY" -c \
        "import socket; socket.create_connection(('$SERVER', $PORT)).close()" 2>/dev/null
    # That probe shows in accepts.log as the server's own address; the checks count per job.
}

seq_file() { echo "$work/server/$1.seq"; }
# Its counter files hold "time number" lines: lib.sh's last_number reads the number column here.
last_number() { awk '$2 ~ /^[0-9]+$/ { n = $2 } END { print n + 0 }' "$1" 2>/dev/null || echo 0; }

# start_job JOB ADDRESS: the job's namespace on lbt-src and the client in a container joined to it.
start_job() {
    local job=$1 address=$2 dir=$work/$1 mac
    mac=$(printf '02:42:0a:f2:00:%02x' "${address##*.}")
    echo "$address" >"$work/$job.address"
    echo "$mac" >"$work/$job.mac"
    job_netns "$job" lbt-src "$address" "$mac"
    mkdir -p "$dir/job"
    cp "$work/client.py" "$dir/job/"
    "$launcher_dir/lifeboat-run" --state-dir "$dir/state" --manifest "$dir/manifest.json" \
        --netns "/run/netns/lbt-$job" --chdir "$dir/job" --stdout "$dir/job/out" --stderr "$dir/job/err" \
        --exit-status-file "$dir/job/status" -- "$PY" -u client.py "$SERVER" "$PORT" \
        >"$dir/launcher.log" 2>&1 &
    echo $! >"$dir/outer.pid"
    wait_until 10 "the manifest of $job" test -s "$dir/manifest.json"
    cp "$dir/manifest.json" "$dir/manifest.copy.json"
    "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["init-pid"])' "$dir/manifest.copy.json" >"$dir/init.pid"
    wait_until 20 "$job to send" count_at_least "$(seq_file "$address")" 10
    log "$job: $(cat "$dir/job/out") (init pid $(cat "$dir/init.pid")), server has $(last_number "$(seq_file "$address")")"
}

# migrate JOB: source lbt-src -> destination lbt-dst, keeping address, MAC and TCP connection.
migrate() {
    local job=$1 dir=$work/$1 ns=lbt-$1 images=$work/$1/images externals init address mac
    address=$(cat "$work/$job.address")
    mac=$(cat "$work/$job.mac")
    init=$(cat "$dir/init.pid")
    mkdir -p "$images"
    mapfile -t externals < <(externals "$job" dump)
    local t0 t1 t2 t3 t4
    t0=$(now)
    # --- source -------------------------------------------------------------------------
    # Run inside the job's netns (criu_in): the tree's netns is CRIU's own, so CRIU does not
    #   try to dump the namespace (its interfaces belong to the host side of the recipe).
    # -t: the container init, root of the tree and of its PID and mount namespaces.
    # --tcp-established: save established connections (sequence numbers, queues, options) via
    #   TCP repair mode, and leave them in repair mode: no FIN/RST when the tree later dies.
    # --network-lock nftables: while dumping, drop the connections' packets with an nftables
    #   table (CRIU-<pid>) in the job's netns; the default, iptables, is not installed here.
    #   With --leave-stopped the lock is not lifted: the netns stays silent until it dies.
    # --leave-stopped: the tree stays frozen after the dump: killed only once the destination
    #   runs it (or resumed: the rollback path). Without it CRIU kills it at once.
    # --file-locks: jobs may hold flock/fcntl locks.
    # --external mnt[TARGET]:KEY: every bind mount of a host path (the manifest's "mounts").
    # -o/-v4: full log in the image directory, quoted on failure.
    criu_in "$ns" "$images/dump.log" dump -t "$init" -D "$images" --tcp-established --network-lock nftables \
        --leave-stopped --file-locks "${externals[@]}" -o dump.log -v4
    t1=$(now)
    local dumped_at
    dumped_at=$(last_number "$(seq_file "$address")")
    # The address goes down on the source before it comes up on the destination: the link down
    # removes the default route and stops all ARP answers and traffic for the address there.
    # Then the name /run/netns/lbt-JOB is released; the namespace itself lives on, held by the
    # frozen tree (reachable as /proc/INIT/ns/net for a rollback), and dies with it.
    ip -n "$ns" link set eth0 down
    nsenter --net="/proc/$init/ns/net" ip -br link show eth0 | grep -qw DOWN || fail "$job: source interface still up"
    ! nsenter --net="/proc/$init/ns/net" ip route show default | grep -q . || fail "$job: source default route left"
    ip netns delete "$ns"
    created_netns=("${created_netns[@]/$ns/}")
    # --- destination --------------------------------------------------------------------
    job_netns "$job" lbt-dst "$address" "$mac"
    t2=$(now)
    local root=$dir/target-root
    mapfile -t externals < <(externals "$job" restore)
    make_root "$job" "$root"
    t3=$(now)
    # Run inside the destination's job netns, so the tree and its sockets are restored into it.
    # -d: detach, the restored init is nobody's child.
    # --root: the container's root (rebuilt from the manifest), needed for a mount namespace.
    # --pidfile: the restored init's host pid.
    # --tcp-established: rebuild the connections with TCP repair (bound to the job's address,
    #   which must already exist here), then leave repair mode: the peer sees nothing.
    # (No --network-lock: restore takes the method from the dump's images and warns that the
    #   option is ignored.)
    # --file-locks, --external mnt[KEY]:SOURCE: as at dump; SOURCE is this node's path.
    criu_in "$ns" "$images/restore.log" restore -D "$images" -d --root "$root" --pidfile "$dir/restored.pid" \
        --tcp-established --file-locks "${externals[@]}" -o restore.log -v4
    t4=$(now)
    # Only now, with the connection restored, the job announces its address from the new port.
    garp "$ns" "$address"
    umount "$root"
    if [ -n "${LBT_KEEP_LOGS:-}" ]; then
        mkdir -p "$LBT_KEEP_LOGS" && cp "$images/dump.log" "$LBT_KEEP_LOGS/$job-dump.log" &&
            cp "$images/restore.log" "$LBT_KEEP_LOGS/$job-restore.log"
    fi
    # --- source, after the destination confirmed ---------------------------------------
    kill -KILL "$init"
    local code=0
    wait "$(cat "$dir/outer.pid")" || code=$?
    [ "$code" = 137 ] || fail "$job: source lifeboat-run exited $code, expected 137"
    local restored
    restored=$(cat "$dir/restored.pid")
    [ "$(stat -L -c %i "/proc/$restored/ns/net")" = "$(stat -L -c %i "/run/netns/$ns")" ] ||
        fail "$job: restored outside the destination's $ns"
    wait_until 10 "$job to send past $dumped_at" count_at_least "$(seq_file "$address")" $((dumped_at + 20))
    check_job "$job"
    local gap
    gap=$("$PY" -c '
import sys
times = [float(l.split()[0]) for l in open(sys.argv[1]) if l.split()[1].isdigit()]
print("%.2f" % max(b - a for a, b in zip(times, times[1:])))' "$(seq_file "$address")")
    log "$job: migrated at $dumped_at: dump (frozen) $(elapsed "$t0" "$t1") s, address moved $(elapsed "$t1" "$t2") s, root $(elapsed "$t2" "$t3") s, restore $(elapsed "$t3" "$t4") s; longest silence at the server ${gap} s; now at $(last_number "$(seq_file "$address")")"
    timings+=("$job: dump $(elapsed "$t0" "$t1") s, move address $(elapsed "$t1" "$t2") s, restore $(elapsed "$t3" "$t4") s, freeze (dump start to restore end) $(elapsed "$t0" "$t4") s, longest silence at server ${gap} s")
}

# check_job JOB: one accept for the job's address, numbers exactly 1..N, no EOF, still sending.
check_job() {
    local job=$1 address file accepts before
    address=$(cat "$work/$job.address")
    file=$(seq_file "$address")
    accepts=$(awk -v a="$address" '$2 == a' "$work/server/accepts.log" | wc -l)
    [ "$accepts" = 1 ] || fail "$job: the server accepted $accepts connections from $address, expected 1"
    ! grep -q EOF "$file" || fail "$job: the server saw the connection close"
    "$PY" - "$file" <<'PY' || fail "$job: the numbers the server received are broken"
import sys
for expected, line in enumerate(open(sys.argv[1]), 1):
    if int(line.split()[1]) != expected:
        sys.exit("line %d holds %s" % (expected, line.split()[1]))
PY
    before=$(last_number "$file")
    sleep 0.5
    count_at_least "$file" $((before + 3)) || fail "$job: not sending any more"
}

timings=()
log "CRIU $("$CRIU" --version | awk '/^Version/ { print $2 }'), work directory $work"
build_topology
write_programs
start_server
start_job job1 "$SUBNET_PREFIX.101"
migrate job1
start_job job2 "$SUBNET_PREFIX.102"
migrate job2
# Both on the destination: separate namespaces, separate interfaces, one address each.
check_job job1
check_job job2
for job in job1 job2; do
    [ "$(ip -n "lbt-$job" -br -4 addr show eth0 | awk '{ print $3 }')" = "$(cat "$work/$job.address")/24" ] ||
        fail "$job: wrong address on the destination"
    [ "$(ip -n "lbt-$job" -br link show eth0 | awk '{ print $3 }')" = "$(cat "$work/$job.mac")" ] || fail "$job: wrong MAC"
done
[ "$(ip -n lbt-src -br link show type macvlan | wc -l)" = 0 ] || fail "a job's macvlan is left on the source"
[ "$(ip -n lbt-dst -br link show | wc -l)" = 2 ] || fail "the destination host has other links than lo and eth0"
log "job1 and job2 run on lbt-dst in their own namespaces, $(awk -v s="$SERVER" '$2 != s { print $2 }' "$work/server/accepts.log" | tr '\n' ' ')accepted once each"
for line in "${timings[@]}"; do log "timings: $line"; done
echo "netns-tcp-roundtrip: 2 jobs migrated with their TCP connections, 0 failed"
