#!/usr/bin/env bash
# What an MPI program needs of the container, each run as TEST_USER (lbalice by default) through a
# setuid-root copy of lifeboat-run, as in production:
#
#   loopback-view    --network=loopback: a network namespace other than the node's, holding only
#                    lo, up, with 127.0.0.1 and ::1 usable; the CPU topology readable at
#                    /sys/devices/system/cpu (the same as the node's), and of the rest of /sys
#                    only /sys/class/net/lo, a link to nothing (what UCX lists to find its TCP
#                    devices), and /sys not writable (EROFS).
#   node-view        without --network: the node's network namespace, the same /sys view but
#                    no /sys/class (the node's interfaces are not listed).
#   manifest         version 4; "network" is "node", "netns" (root's --netns) or "loopback"; the
#                    topology mounts sys-cpu (and sys-node where the node has one) read-only.
#   joined-network   two tasks of a Slurm job (job cgroup, SLURM_JOB_ID) with --network=loopback
#                    share one namespace: the second reaches the first's listener on 127.0.0.1.
#   network-mismatch a task of that job asking for the node's network is refused (125, a message).
#   pmi-kept         PMI_FD=N naming one end of a socketpair (N = 3, the first number the launcher
#                    would otherwise use, and 9): the task has exactly 0, 1, 2 and N open, N is that
#                    socket (same inode; what the task writes through it arrives at the other end),
#                    no other process holds it (not the launcher, not the container's init, which
#                    holds nothing but 0-2 and its task records).
#   pmi-ignored      PMI_FD naming a file, a closed descriptor, "abc", "2" or "": a warning, and
#                    the task has only 0, 1, 2.
#   pmi-joined       two tasks of a job, each with its own socket at the same N: one container,
#                    and each task's socket is its own.
#
#   launcher/tests/mpi-container.sh        (as root; about 15 s)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
launcher_dir=$(dirname "$here")
TEST_USER=${TEST_USER:-lbalice}

log() { printf 'mpi-container: %s\n' "$*" >&2; }
fail() {
    printf 'mpi-container: FAILED: %s\n' "$*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || fail "must run as root (setuid launcher, cgroups, --netns)"
make -s -C "$launcher_dir" lifeboat-run
test_uid=$(id -u "$TEST_USER")
test_gid=$(id -g "$TEST_USER")
JOBS=(920 921 922)

work=$(mktemp -d /tmp/lifeboat-mpi-container.XXXXXX)
chmod 755 "$work"
install -m 4755 "$launcher_dir/lifeboat-run" "$work/lifeboat-run"
job_cgroups lifeboat-mpi-container
netns=

cleanup() {
    local status=$? pid job
    # SIGTERM first, as remove_job_cgroups does: a launcher passes it on and removes its state.
    for pid in $(jobs -p); do kill -TERM "$pid" 2>/dev/null || true; done
    remove_job_cgroups
    for pid in $(jobs -p); do
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    for job in "${JOBS[@]}"; do rm -f "/run/lifeboat/jobs/$job-$test_uid"*; done
    [ -z "$netns" ] || ip netns delete "$netns" 2>/dev/null || true
    rm -rf "$work"
    exit $status
}
trap cleanup EXIT

mkdir "$work/job"
chown "$test_uid:$test_gid" "$work/job"

# The facts a task reports about its container, one "key=value" line each.
cat >"$work/job/probe.py" <<'PY'
import errno, fcntl, os, socket, struct

def facts():
    yield "netns", os.readlink("/proc/self/ns/net")
    yield "devices", ",".join(line.split(":")[0].strip() for line in open("/proc/net/dev").readlines()[2:])
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    flags = struct.unpack("16sH", fcntl.ioctl(probe, 0x8913, struct.pack("16sH", b"lo", 0)))[1]  # SIOCGIFFLAGS
    yield "lo", "up" if flags & 1 else "down"
    for family, address in (socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1"):
        listener = socket.socket(family)
        listener.bind((address, 0))
        listener.listen(1)
        client = socket.create_connection(listener.getsockname()[:2])
        client.sendall(b"x")
        yield "tcp " + address, "ok" if listener.accept()[0].recv(1) == b"x" else "broken"
    yield "cpu-online", open("/sys/devices/system/cpu/online").read().strip()
    yield "sys", ",".join(sorted(os.listdir("/sys")))
    yield "sys-class", ",".join(sorted(os.listdir("/sys/class"))) if os.path.exists("/sys/class") else "absent"
    if os.path.isdir("/sys/class/net"):
        yield "sys-class-net", ",".join("%s->%s%s" % (name, os.readlink("/sys/class/net/" + name),
                                                    "" if os.path.exists("/sys/class/net/" + name) else " (dangling)")
                                      for name in sorted(os.listdir("/sys/class/net")))
    for path in "/sys/devices/system/cpu/lifeboat-test", "/sys/lifeboat-test":
        try:
            os.mkdir(path)
            yield "mkdir " + path, "created"
        except OSError as error:
            yield "mkdir " + path, errno.errorcode[error.errno]
    try:
        open("/sys/devices/system/cpu/online", "w").write("0")
        yield "write online", "written"
    except OSError as error:
        yield "write online", "refused"

for key, value in facts():
    print("%s=%s" % (key, value), flush=True)
PY

# fact FILE KEY: the value of KEY in a probe's output.
fact() { sed -n "s|^$2=||p" "$1"; }

# expect FILE KEY VALUE WHAT: the probe said KEY=VALUE, or fail naming WHAT.
expect() {
    [ "$(fact "$1" "$2")" = "$3" ] || fail "$4: $2 is '$(fact "$1" "$2")', expected '$3'"
}

# check_sys FILE WHAT [CLASS]: the topology readable and the node's, of /sys/class only CLASS
# (absent if not given), none writable.
check_sys() {
    expect "$1" cpu-online "$(cat /sys/devices/system/cpu/online)" "$2"
    expect "$1" sys "${3:+class,}devices" "$2"
    expect "$1" sys-class "${3:-absent}" "$2"
    expect "$1" "mkdir /sys/devices/system/cpu/lifeboat-test" EROFS "$2"
    expect "$1" "mkdir /sys/lifeboat-test" EROFS "$2"
    expect "$1" "write online" refused "$2"
}

scenario_loopback_view() {
    local out=$work/job/loopback.out
    as_user "$work/lifeboat-run" --network=loopback --stdout "$out" --stderr "$out.err" -- python3 probe.py ||
        fail "loopback-view: exit code $?: $(cat "$out.err")"
    [ "$(fact "$out" netns)" != "$(readlink /proc/self/ns/net)" ] || fail "loopback-view: the node's network namespace"
    expect "$out" devices lo loopback-view
    expect "$out" lo up loopback-view
    expect "$out" "tcp 127.0.0.1" ok loopback-view
    expect "$out" "tcp ::1" ok loopback-view
    check_sys "$out" loopback-view net
    expect "$out" sys-class-net "lo->../../devices/virtual/net/lo (dangling)" loopback-view
    log "loopback-view: only lo, up, 127.0.0.1 and ::1 work; CPUs $(fact "$out" cpu-online), /sys read-only, the topology and /sys/class/net/lo alone"
}

scenario_node_view() {
    local out=$work/job/node.out
    as_user "$work/lifeboat-run" --stdout "$out" --stderr "$out.err" -- python3 probe.py ||
        fail "node-view: exit code $?: $(cat "$out.err")"
    expect "$out" netns "$(readlink /proc/self/ns/net)" node-view
    check_sys "$out" node-view
    log "node-view: the node's network namespace, the same /sys view"
}

# manifest_of WHAT OPTIONS...: runs root's container with OPTIONS until its manifest is copied to
# $work/WHAT/manifest.copy.json.
manifest_of() {
    local what=$1 dir=$work/$1
    shift
    mkdir -p "$dir"
    "$launcher_dir/lifeboat-run" --manifest "$dir/manifest.json" --chdir "$dir" "$@" \
        -- sh -c 'while [ ! -e go ]; do sleep 0.05; done' >"$dir/launcher.log" 2>&1 &
    wait_until 10 "the manifest of $what" test -s "$dir/manifest.json"
    cp "$dir/manifest.json" "$dir/manifest.copy.json"
    touch "$dir/go"
    wait $! || fail "manifest: $what's launcher failed: $(cat "$dir/launcher.log")"
}

scenario_manifest() {
    netns=lifeboat-mpi-container-$$
    ip netns add "$netns"
    manifest_of node
    manifest_of netns --netns "/run/netns/$netns"
    manifest_of loopback --network=loopback
    "$PY" - "$work" "/run/netns/$netns" <<'PY' || fail "manifest"
import json, os, sys
work, netns = sys.argv[1], sys.argv[2]
for mode, expected_netns in ("node", None), ("netns", netns), ("loopback", None):
    manifest = json.load(open("%s/%s/manifest.copy.json" % (work, mode)))
    assert manifest["version"] == 4, manifest["version"]
    assert manifest["network"] == mode and manifest["netns"] == expected_netns, (mode, manifest["network"], manifest["netns"])
    mounts = {m["key"]: m for m in manifest["mounts"]}
    for key, path in ("sys-cpu", "/sys/devices/system/cpu"), ("sys-node", "/sys/devices/system/node"):
        if os.path.isdir(path):
            assert mounts[key] == {"key": key, "source": path, "target": path, "read-only": True}, mounts.get(key)
        else:
            assert key not in mounts, mounts[key]
PY
    log "manifest: version 4, network node, netns and loopback, topology mounts read-only"
}

# in_job JOB PROCID COMMAND...: COMMAND as task PROCID of JOB's step 0: in the job's cgroup, with
# Slurm's variables for it, in $work/job.
in_job() {
    local job=$1 procid=$2
    shift 2
    (
        enter_cgroup "job_$job/step_0"
        cd "$work/job"
        export SLURM_JOB_ID=$job SLURM_STEP_ID=0 SLURM_PROCID=$procid SLURM_LOCALID=$procid
        "$@"
    )
}

# job_task JOB PROCID OUTPUT [OPTIONS...] -- COMMAND...: the user's launcher as a task of JOB;
# COMMAND's stdout to OUTPUT, the launcher's own to OUTPUT.log; its pid in $started.
job_task() {
    local job=$1 procid=$2 output=$3
    shift 3
    in_job "$job" "$procid" as_user "$work/lifeboat-run" --stdout "$output" "$@" >"$work/job/$output.log" 2>&1 &
    started=$!
}

# finish PID WHAT: the launcher PID exits 0.
finish() {
    local code=0
    wait "$1" || code=$?
    [ "$code" = 0 ] || fail "$2: the launcher exited $code: $(cat "$work/job/$2.out.log" 2>/dev/null)"
}

scenario_joined_network() {
    local server client
    rm -f "$work/job/port"
    job_task 920 0 server.out --network=loopback -- python3 -c '
import os, socket
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
open("port.tmp", "w").write(str(listener.getsockname()[1]))
os.rename("port.tmp", "port")
print(os.readlink("/proc/self/ns/net"), os.readlink("/proc/self/ns/pid"))
print(listener.accept()[0].recv(100).decode(), flush=True)'
    server=$started
    wait_until 10 "the first task to listen" test -s "$work/job/port"
    job_task 920 1 client.out --network=loopback -- python3 -c '
import os, socket
connection = socket.create_connection(("127.0.0.1", int(open("port").read())))
connection.sendall(b"hello from task 1")
print(os.readlink("/proc/self/ns/net"), os.readlink("/proc/self/ns/pid"), flush=True)'
    client=$started
    finish "$client" client
    finish "$server" server
    [ "$(head -n 1 "$work/job/server.out")" = "$(cat "$work/job/client.out")" ] ||
        fail "joined-network: the tasks' network and PID namespaces differ: $(head -n 1 "$work/job/server.out") and $(cat "$work/job/client.out")"
    [ "$(sed -n 2p "$work/job/server.out")" = "hello from task 1" ] || fail "joined-network: the first task got '$(sed -n 2p "$work/job/server.out")'"
    grep -q "$(readlink /proc/self/ns/net)" "$work/job/server.out" && fail "joined-network: the tasks have the node's network namespace"
    log "joined-network: the second task joined the first's namespace and reached it on 127.0.0.1"
}

scenario_network_mismatch() {
    local first code option
    rm -f "$work/job/go"
    job_task 921 0 first.out --network=loopback -- sh -c 'while [ ! -e go ]; do sleep 0.05; done'
    first=$started
    wait_until 10 "job 921's container" test -s "/run/lifeboat/jobs/921-$test_uid"
    for option in "" --network=node; do
        code=0
        job_task 921 1 second.out $option -- true
        wait "$started" || code=$?
        [ "$code" = 125 ] && grep -q -- '--network' "$work/job/second.out.log" ||
            fail "network-mismatch: a task with '${option:-no --network}' gave $code: $(cat "$work/job/second.out.log")"
    done
    touch "$work/job/go"
    finish "$first" first
    log "network-mismatch: tasks asking for the node's network refused: $(cat "$work/job/second.out.log")"
}

# The task's command: writes a line through descriptor N, says it started, waits for "go". Its
# descriptors are read from outside (pmi_descriptors): a shell that lists its own opens some.
pmi_command() {
    echo "echo through-$1-from-\$SLURM_PROCID >&$1 2>/dev/null; touch started.\$SLURM_PROCID;"\
        "while [ ! -e go ]; do sleep 0.05; done"
}

# The harness: holds descriptor N as KIND (socket: one end of a socketpair; file: a file; closed:
# nothing), runs the launcher command with PMI_FD=VALUE, and records in DIR what arrives at the
# socket's other end (received) and the socket's inode (inode).
cat >"$work/pmi.py" <<'PY'
import fcntl, os, socket, subprocess, sys
kind, number, value, directory, command = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
# Both ends moved above any number tested, so that neither is overwritten by the dup2 to N.
def moved(end):
    fd = fcntl.fcntl(end.fileno(), fcntl.F_DUPFD_CLOEXEC, 100)
    end.close()
    return socket.socket(fileno=fd)
ours, theirs = (moved(end) for end in socket.socketpair())
os.makedirs(directory, exist_ok=True)
if kind == "socket":
    os.dup2(theirs.fileno(), number)
    open(directory + "/inode", "w").write("socket:[%d]\n" % os.fstat(number).st_ino)
elif kind == "file":
    os.dup2(os.open("/etc/hostname", os.O_RDONLY), number)
else:
    try:
        os.close(number)
    except OSError:
        pass
theirs.close()
passed = (number,) if kind != "closed" else ()
launcher = subprocess.Popen(command, env=dict(os.environ, PMI_FD=value), pass_fds=passed)
if passed:
    os.close(number)
received = b""
ours.settimeout(0.1)
while launcher.poll() is None:
    try:
        received += ours.recv(100)
    except socket.timeout:
        pass
open(directory + "/received", "wb").write(received)
sys.exit(launcher.returncode)
PY

# pmi_task JOB PROCID KIND N VALUE: task PROCID of JOB (through the harness) whose PMI_FD is VALUE
# and whose descriptor N holds KIND; its launcher's pid in $started, and once it runs, its own
# pid in $work/job/pmi.PROCID/task.
pmi_task() {
    local job=$1 procid=$2 kind=$3 number=$4 value=$5 dir=$work/job/pmi.$2
    # The harness is root's (it makes the descriptors); the launcher the user's.
    in_job "$job" "$procid" "$PY" "$work/pmi.py" "$kind" "$number" "$value" "$dir" \
        setpriv --reuid="$test_uid" --regid="$test_gid" --clear-groups \
        "$work/lifeboat-run" --stdout "out.$procid" --stderr "err.$procid" -- sh -c "$(pmi_command "$number")" \
        >"$work/job/pmi.$procid.log" 2>&1 &
    started=$!
    wait_until 10 "task $procid to start" test -e "$work/job/started.$procid"
    pgrep -f "^sh -c echo through-$number-from-\\\$SLURM_PROCID" -U "$test_uid" | while read -r pid; do
        [ "$(tr '\0' '\n' <"/proc/$pid/environ" | grep '^SLURM_PROCID=')" = "SLURM_PROCID=$procid" ] && echo "$pid"
    done >"$dir/task"
    [ "$(wc -l <"$dir/task")" = 1 ] || fail "pmi task $procid: not found ($(cat "$dir/task"))"
}

# pmi_descriptors PROCID: the task's open descriptors, in order, separated by spaces.
pmi_descriptors() { ls "/proc/$(cat "$work/job/pmi.$1/task")/fd" | sort -n | tr '\n' ' '; }

# holders SOCKET: the pids of every process holding SOCKET ("socket:[INODE]").
holders() {
    find /proc/[0-9]*/fd -maxdepth 1 -type l -printf '%h %l\n' 2>/dev/null |
        awk -v socket="$1" '$2 == socket { split($1, path, "/"); print path[3] }' | sort -u
}

# check_kept PROCID N: the task has exactly 0, 1, 2 and N, N is the harness's socket, and no
# process but the task and its children (its sleeps) holds it: not the launcher, its helpers,
# the container's init.
check_kept() {
    local procid=$1 number=$2 task socket holder
    task=$(cat "$work/job/pmi.$procid/task")
    socket=$(cat "$work/job/pmi.$procid/inode")
    [ "$(pmi_descriptors "$procid")" = "0 1 2 $number " ] ||
        fail "pmi task $procid: descriptors '$(pmi_descriptors "$procid")', expected 0 1 2 $number"
    [ "$(readlink "/proc/$task/fd/$number")" = "$socket" ] ||
        fail "pmi task $procid: descriptor $number is $(readlink "/proc/$task/fd/$number"), not the socket $socket"
    for holder in $(holders "$socket"); do
        [ "$holder" = "$task" ] || [ "$(awk '/^PPid:/ { print $2 }' "/proc/$holder/status" 2>/dev/null)" = "$task" ] ||
            [ ! -e "/proc/$holder" ] || fail "pmi task $procid: $socket is held by $(ps -o pid=,cmd= -p "$holder")"
    done
}

# pmi_finish PID PROCID: lets the tasks end; the launcher PID (of task PROCID) exits 0.
pmi_finish() {
    local code=0
    touch "$work/job/go"
    wait "$1" || code=$?
    [ "$code" = 0 ] || fail "pmi task $2: exit code $code: $(cat "$work/job/pmi.$2.log")"
}

clean_pmi() { rm -rf "$work/job/go" "$work/job"/started.* "$work/job"/pmi.*; }

# The init of the container a process runs in: the init of its PID namespace.
init_of() {
    local pid
    for pid in $(pgrep -f '^lifeboat-init --container-init'); do
        [ "$(readlink "/proc/$pid/ns/pid")" = "$(readlink "/proc/$1/ns/pid")" ] && echo "$pid"
    done
}

scenario_pmi_kept() {
    local number init
    for number in 3 9; do
        clean_pmi
        pmi_task 922 0 socket "$number" "$number"
        check_kept 0 "$number"
        init=$(init_of "$(cat "$work/job/pmi.0/task")")
        [ -n "$init" ] || fail "pmi-kept: no container init found"
        # The init holds 0-2 and its task records (init.c), no socket: it outlives the task.
        [ "$(find "/proc/$init/fd" -mindepth 1 -printf '%f %l\n' | sort -n | tr '\n' ';')" = \
            "0 /dev/null;1 $work/job/out.0;2 $work/job/err.0;3 /.lifeboat/tasks;" ] ||
            fail "pmi-kept: the container init holds $(ls -l "/proc/$init/fd")"
        pmi_finish "$started" 0
        [ "$(cat "$work/job/pmi.0/received")" = "through-$number-from-0" ] ||
            fail "pmi-kept: the socket's other end got '$(cat "$work/job/pmi.0/received")'"
        ! grep -q PMI_FD "$work/job/pmi.0.log" || fail "pmi-kept: a warning for a good PMI_FD: $(cat "$work/job/pmi.0.log")"
        log "pmi-kept: PMI_FD=$number reached the task as the same socket, nothing else open; the init does not hold it"
    done
}

scenario_pmi_ignored() {
    local case kind value
    for case in file:5 closed:5 socket:abc socket:2 socket:; do
        kind=${case%%:*}
        value=${case#*:}
        clean_pmi
        pmi_task 922 0 "$kind" 5 "$value"
        [ "$(pmi_descriptors 0)" = "0 1 2 " ] ||
            fail "pmi-ignored: $kind at 5 with PMI_FD='$value': the task has descriptors $(pmi_descriptors 0)"
        pmi_finish "$started" 0
        [ ! -s "$work/job/pmi.0/received" ] || fail "pmi-ignored: PMI_FD='$value': the socket got '$(cat "$work/job/pmi.0/received")'"
        grep -q "^lifeboat-run: PMI_FD=" "$work/job/pmi.0.log" || fail "pmi-ignored: no warning for $kind with PMI_FD='$value'"
        log "pmi-ignored: $kind at 5, PMI_FD='$value': $(grep -h '^lifeboat-run: PMI_FD=' "$work/job/pmi.0.log")"
    done
}

scenario_pmi_joined() {
    local first second procid
    clean_pmi
    pmi_task 922 0 socket 7 7
    first=$started
    pmi_task 922 1 socket 7 7
    second=$started
    for procid in 0 1; do check_kept "$procid" 7; done
    [ "$(cat "$work/job/pmi.0/inode")" != "$(cat "$work/job/pmi.1/inode")" ] || fail "pmi-joined: the harness made one socket"
    [ "$(readlink "/proc/$(cat "$work/job/pmi.0/task")/ns/pid")" = "$(readlink "/proc/$(cat "$work/job/pmi.1/task")/ns/pid")" ] ||
        fail "pmi-joined: the tasks are in different containers"
    pmi_finish "$second" 1
    pmi_finish "$first" 0
    for procid in 0 1; do
        [ "$(cat "$work/job/pmi.$procid/received")" = "through-7-from-$procid" ] ||
            fail "pmi-joined: task $procid's socket got '$(cat "$work/job/pmi.$procid/received")'"
    done
    log "pmi-joined: two tasks of one container, each with its own socket at 7"
}

for scenario in loopback_view node_view manifest joined_network network_mismatch pmi_kept pmi_ignored pmi_joined; do
    "scenario_$scenario"
done
echo "mpi-container: 8 passed, 0 failed"
