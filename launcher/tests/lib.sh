# Helpers shared by the launcher's tests. Sourced, never run; the caller sets $work (its
# temporary directory, one subdirectory per container holding manifest.copy.json) and defines
# fail MESSAGE.

PY=${PY:-/usr/bin/python3} # the one lifeboat-run's /usr bind provides inside a container

is_container_init() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -q '^lifeboat-init --container-init '; }

now() { date +%s.%3N; }

elapsed() { "$PY" -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

# The workload's counter file: its last number, and whether it has reached N.
last_number() { tail -n 1 "$1" 2>/dev/null || echo 0; }
count_at_least() { [ "$(last_number "$1")" -ge "$2" ]; }

# The sequence must be exactly 1, 2, ..., N: a restore that lost the counter starts over at 1,
# one that ran the process twice repeats numbers.
check_sequence() {
    "$PY" - "$1" <<'PY' || fail "sequence $1 is broken"
import sys
for line_number, line in enumerate(open(sys.argv[1]), 1):
    if int(line) != line_number:
        sys.exit("line %d holds %s" % (line_number, line.strip()))
PY
}

# criu_run LOG ARGS...: runs $CRIU; on failure quotes the end of its log. Every CRIU call logs an
# "Error" about RLIMIT_NOFILE here (no CAP_SYS_RESOURCE) and still succeeds: judge by exit code.
criu_prefix=() # set to `nsenter --net=...` while a scenario's container has its own netns
criu_run() {
    local log_file=$1
    shift
    if ! "${criu_prefix[@]}" "$CRIU" "$@"; then
        printf 'criu %s failed; end of %s:\n' "$1" "$log_file" >&2
        { tail -n 25 "$log_file" 2>&1 || true; } | sed 's/^/    /' >&2
        fail "criu $1"
    fi
}

# wait_until SECONDS WHAT COMMAND...: until COMMAND succeeds, or fail naming WHAT.
wait_until() {
    local seconds=$1 what=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@"; do
        [ $SECONDS -lt $deadline ] || fail "timed out after ${seconds} s waiting for $what"
        sleep 0.1
    done
}

# externals NAME dump|restore: the --external options of every bind mount in NAME's manifest (CRIU
# saves no bind mount of a host path): mnt[TARGET]:KEY at dump, each bind by its path inside the
# container named by its key; mnt[KEY]:SOURCE at restore, each key bound from this node's path.
externals() {
    "$PY" -c '
import json, sys
for m in json.load(open(sys.argv[1]))["mounts"]:
    print("--external\nmnt[%s]:%s" % ((m["target"], m["key"]) if sys.argv[2] == "dump" else (m["key"], m["source"])))' \
        "$work/$1/manifest.copy.json" "$2"
}

# make_root NAME DIR: the target's root, built from NAME's manifest skeleton as on the source:
# a tmpfs with every mount point, made read-only (CRIU restores the mounts onto it).
make_root() {
    local root=$2
    mkdir -p "$root"
    mount -t tmpfs -o mode=0755,nosuid,nodev lifeboat "$root"
    "$PY" - "$work/$1/manifest.copy.json" "$root" <<'PY'
import json, os, sys
manifest, root = json.load(open(sys.argv[1])), sys.argv[2]
for node in manifest["skeleton"]:
    path = root + node["path"]
    if node["type"] == "directory":
        os.mkdir(path, 0o755)
    elif node["type"] == "file":
        open(path, "x").close()
    else:
        os.symlink(node["target"], path)
PY
    mount -o remount,ro "$root"
}

# Ending a test: kill_containers kills every container init it started or restored (the pids in
# $work/*/init.pid and in CRIU's pidfiles $work/*/restored*.pid, only while they are inits);
# end_jobs gives this shell's jobs (their launchers, which then remove their state) 5 s to end
# and kills what is left; unmount_work unmounts everything below $work.
kill_containers() {
    local file
    # One file at a time: CRIU's --pidfile has no final newline.
    for file in "$work"/*/init.pid "$work"/*/restored*.pid; do
        if [ -s "$file" ] && is_container_init "$(cat "$file")"; then
            kill -KILL "$(cat "$file")" 2>/dev/null || true
        fi
    done
}
end_jobs() {
    local pid
    for pid in $(jobs -p); do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
}
unmount_work() { grep -o " $work/[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true; }

# Job cgroups as Slurm's proctrack/cgroup makes them (a path holding job_ID tells a launcher it runs
# in that job, see join.c), below a directory of the test's own in the unified hierarchy, and
# there below a slurmstepd.scope as Slurm's cgroup/v2 makes them: on a cgroup v2 host the launcher
# takes a job's cgroup only at that place (src/cgroup.c).
# job_cgroups NAME sets $cgroups; enter_cgroup PATH moves the calling (sub)shell into
# $cgroups/slurmstepd.scope/PATH, e.g. job_910/step_0; remove_job_cgroups ends what is left in
# them (SIGTERM, then SIGKILL after 3 s) and removes them.
job_cgroups() {
    local root=/sys/fs/cgroup
    [ -f "$root/cgroup.procs" ] || root=/sys/fs/cgroup/unified
    cgroups=$root/$1.$$
}
enter_cgroup() {
    mkdir -p "$cgroups/slurmstepd.scope/$1"
    echo "$BASHPID" >"$cgroups/slurmstepd.scope/$1/cgroup.procs"
}
job_cgroup_pids() { find "$cgroups" -name cgroup.procs -exec cat {} +; }
remove_job_cgroups() {
    [ -d "$cgroups" ] || return 0
    # SIGTERM first: a launcher passes it to its task and removes its state once the task ended.
    job_cgroup_pids | xargs -r kill -TERM 2>/dev/null || true
    for _ in $(seq 30); do
        [ -n "$(job_cgroup_pids)" ] || break
        sleep 0.1
    done
    job_cgroup_pids | xargs -r kill -KILL 2>/dev/null || true
    sleep 0.3
    find "$cgroups" -depth -type d -exec rmdir {} + 2>/dev/null || true
}

# as_user COMMAND...: COMMAND as the test's user ($test_uid, $test_gid) with no supplementary
# groups, in $work/job, as Slurm runs a job's step.
as_user() { (cd "$work/job" && exec setpriv --reuid="$test_uid" --regid="$test_gid" --clear-groups "$@"); }

# garp NETNS ADDRESS: a gratuitous ARP from the job's eth0, sent once the job is restored: the
# switch learns the MAC's new port at once (rather than at the job's first packet, or never for a
# job that only receives) and neighbours refresh their caches (the MAC is kept, so they are right).
garp() {
    ip netns exec "$1" "$PY" - "$2" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
mac, ip = s.getsockname()[4], socket.inet_aton(sys.argv[1])
arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + ip + b"\0" * 6 + ip
for _ in range(2):
    s.send(b"\xff" * 6 + mac + b"\x08\x06" + arp)
PY
}
