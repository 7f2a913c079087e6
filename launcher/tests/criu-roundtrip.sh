#!/usr/bin/env bash
# Proves with real CRIU that a lifeboat-run container can be checkpointed, migrated and rolled back.
#
#   launcher/tests/criu-roundtrip.sh        (as root; CRIU >= 4 from testbed/criu.sh, or $CRIU)
#
# Each scenario starts tests/lifeboat-workload (MIB MiB of random memory, default 256, counting
# into a bind-mounted directory every 100 ms) in its own container, lets it count, then:
#   migrate      dump to disk with the tree left stopped, tree killed (the source side once the
#                target has confirmed), restored into a root rebuilt from the manifest, checked,
#                stopped: exit status 3 in the exit-status file;
#   rollback     dump with the tree left stopped, then resumed in place (the migration failed),
#                checked, stopped: exit status 3 from lifeboat-run itself and in the file;
#   page-server  pages streamed to a CRIU page server (loopback), the other images copied after
#                them, restored from the target directory, checked, stopped;
#   netns        as migrate, for a container in its own network namespace (--netns), with
#                CRIU run inside that namespace on both sides;
#   user         the job's user (TEST_USER) through a setuid-root copy of lifeboat-run: the tree
#                runs with the user's ids, no capabilities, no_new_privs; migrated as above where
#                root has CAP_SYS_RESOURCE (CRIU needs it to read another user's rlimits);
#   refusals     what the setuid launcher refuses a user (exit code 125), and 127 for a missing CMD.
# "Checked" means: the sequence file holds exactly 1..N (no restart from 1, no number twice) and
# grows past the dump point, the memory checksum still matches (SIGUSR1 through the init), that
# report lands in the stdout and stderr files, and the mounts keep their flags. Everything the test starts or creates is
# removed on exit. Dump and restore times are printed at the end.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
launcher_dir=$(dirname "$here")
repo_dir=$(dirname "$launcher_dir")
MIB=${MIB:-256}
# The user of the unprivileged scenario; CMD gets this uid through the setuid launcher.
TEST_USER=${TEST_USER:-nobody}

log() { printf 'criu-roundtrip: %s\n' "$*" >&2; }
fail() {
    printf 'criu-roundtrip: FAILED: %s\n' "$*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || fail "must run as root (CRIU, setuid launcher)"
CRIU=${CRIU:-$("$repo_dir/testbed/criu.sh")}
make -s -C "$launcher_dir" lifeboat-run tests/lifeboat-workload
command -v python3 >/dev/null || fail "python3 is needed to read the manifest"
test_uid=$(id -u "$TEST_USER")
test_gid=$(id -g "$TEST_USER")

work=$(mktemp -d /tmp/lifeboat-roundtrip.XXXXXX)
# The user's scenario must reach its directories and the setuid launcher below here.
chmod 755 "$work"
# A setuid-root copy, as `make install` leaves it: the user's scenario goes through it.
install -m 4755 "$launcher_dir/lifeboat-run" "$work/lifeboat-run"
page_server_pidfile=$work/page-server.pid


# Kills whatever is left (every container is its own PID namespace: killing its init ends it),
# then removes the test's directory, so a failed run leaves nothing behind.
cleanup() {
    local status=$?
    kill_containers
    if [ -s "$page_server_pidfile" ] && [ "$(cat "/proc/$(cat "$page_server_pidfile")/comm" 2>/dev/null)" = criu ]; then
        kill -KILL "$(cat "$page_server_pidfile")"
    fi
    # The launchers still running are this shell's jobs; each removes its state directory once
    # its init is gone.
    end_jobs
    if [ -s "$work/netns.name" ]; then
        ip netns delete "$(cat "$work/netns.name")" || true
    fi
    unmount_work
    rm -rf "$work"
    exit $status
}
trap cleanup EXIT



# start_container NAME AS [OPTIONS...]: starts the workload in a container, as root ("root") or as
# TEST_USER through the setuid copy ("user"), and waits until it counts. Root names the state
# directory and manifest; the user gets the defaults (/run/lifeboat/containers/<pid>).
start_container() {
    local name=$1 as=$2 dir=$work/$1 outer manifest
    shift 2
    mkdir -p "$dir/job" "$dir/shared"
    cp "$launcher_dir/tests/lifeboat-workload" "$dir/job/"
    local options=(--chdir "$dir/job" --bind "$dir/shared:/shared" --stdout "$dir/job/out" --stderr "$dir/job/err"
        --exit-status-file "$dir/job/status" "$@")
    local command=(./lifeboat-workload /shared/seq /shared/stop "$MIB")
    if [ "$as" = root ]; then
        "$launcher_dir/lifeboat-run" --state-dir "$dir/state" --manifest "$dir/manifest.json" "${options[@]}" \
            -- "${command[@]}" >"$dir/launcher.log" 2>&1 &
        outer=$!
        manifest=$dir/manifest.json
    else
        chown -R "$test_uid:$test_gid" "$dir"
        setpriv --reuid="$test_uid" --regid="$test_gid" --clear-groups \
            "$work/lifeboat-run" "${options[@]}" -- "${command[@]}" >"$dir/launcher.log" 2>&1 &
        outer=$!
        manifest=/run/lifeboat/containers/$outer/manifest.json
    fi
    echo "$outer" >"$dir/outer.pid"
    wait_until 10 "the manifest of $name" test -s "$manifest"
    # The agent keeps its own copy: lifeboat-run removes the manifest when the container ends.
    cp "$manifest" "$dir/manifest.copy.json"
    manifest_field "$name" init-pid >"$dir/init.pid"
    wait_until 30 "$name to count" count_at_least "$dir/shared/seq" 3
    log "$name: running as uid $(stat -c %u "/proc/$(cat "$dir/init.pid")"), init pid $(cat "$dir/init.pid")"
}

# manifest_field NAME KEY: one top-level value of the container's manifest copy.
manifest_field() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/$1/manifest.copy.json" "$2"
}

# dump NAME IMAGES [CRIU OPTIONS...]: checkpoints the container, leaving its tree stopped.
dump() {
    local name=$1 images=$2
    shift 2
    local externals
    mapfile -t externals < <(externals "$name" dump)
    mkdir -p "$images"
    local started
    started=$(now)
    # -t: the container init, root of the tree (and of its PID and mount namespaces).
    # --leave-stopped: the tree stays frozen after the dump, to be killed once the target has
    #   restored it, or resumed (SIGCONT) if the migration fails: the rollback path.
    # --file-locks: a job may hold flock/fcntl locks; without it CRIU refuses to dump them.
    # --external mnt[TARGET]:KEY: every bind mount of a host path (lib.sh, externals).
    # -o/-v4: a full log in the image directory, quoted on failure.
    criu_run "$images/dump.log" dump -t "$(cat "$work/$name/init.pid")" -D "$images" \
        --leave-stopped --file-locks "${externals[@]}" -o dump.log -v4 "$@"
    dump_seconds=$(elapsed "$started" "$(now)")
    dumped_at=$(last_number "$work/$name/shared/seq")
    log "$name: dumped at $dumped_at in ${dump_seconds} s ($(du -sm "$images" | cut -f1) MiB of images here)"
}

# Every process of the container: those sharing its init's PID namespace.
container_pids() { pgrep --ns "$1" --nslist pid; }

check_frozen() {
    local name=$1 init pid state before
    init=$(cat "$work/$name/init.pid")
    for pid in $(container_pids "$init"); do
        state=$(awk '/^State:/ { print $2 }' "/proc/$pid/status")
        [ "$state" = T ] || fail "$name: process $pid is in state $state after the dump, not stopped"
    done
    before=$(last_number "$work/$name/shared/seq")
    sleep 0.5
    [ "$(last_number "$work/$name/shared/seq")" = "$before" ] || fail "$name: still counting after the dump"
}

# kill_source NAME: the source side once the target has the job: the tree dies, and the outer
# lifeboat-run reports the init's death (128 + SIGKILL) and removes its state.
kill_source() {
    kill -KILL "$(cat "$work/$1/init.pid")"
    check_outer_exit "$1" 137
}


# restore NAME IMAGES: restores the container from IMAGES into a fresh root, detached.
restore() {
    local name=$1 images=$2 root=$work/$1/target-root externals started
    mapfile -t externals < <(externals "$name" restore)
    make_root "$name" "$root"
    started=$(now)
    # -d: detach; the restored init is nobody's child (the exit-status file reports its end).
    # --root: the container's root, which CRIU needs to restore a mount namespace.
    # --pidfile: the restored init's pid in the host's PID namespace (inside it is PID 1 again).
    # --file-locks: restores the locks the dump saved.
    # --external mnt[KEY]:SOURCE: every bind mount, from this node's path (lib.sh, externals).
    criu_run "$images/restore.log" restore -D "$images" -d --root "$root" --pidfile "$work/$name/restored.pid" \
        --file-locks "${externals[@]}" -o restore.log -v4
    restore_seconds=$(elapsed "$started" "$(now)")
    # The container has its own copy of the root mount; the node's can go at once.
    umount "$root"
    log "$name: restored in ${restore_seconds} s as host pid $(cat "$work/$name/restored.pid")"
}

# check_running NAME INIT_PID: the container counts on from the dump point, without a gap or a
# repeat, its memory is intact and its stdout/stderr still reach the files.
check_running() {
    local name=$1 init=$2 dir=$work/$1
    wait_until 10 "$name to count past $dumped_at" count_at_least "$dir/shared/seq" $((dumped_at + 3))
    check_sequence "$dir/shared/seq"
    kill -USR1 "$init"
    wait_until 10 "$name's memory report on stdout" grep -q "^workload: memory ok at" "$dir/job/out"
    wait_until 10 "$name's memory report on stderr" grep -q "^workload: checked memory at" "$dir/job/err"
    ! grep -q CORRUPT "$dir/job/out" || fail "$name: memory differs from before the dump"
    check_mount_flags "$name" "$init"
    local uid
    uid=$(awk '/^Uid:/ { print $2 }' "/proc/$init/status")
    [ "$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$init/status")" = 1 ] || fail "$name: no_new_privs lost"
    log "$name: counting on at $(last_number "$dir/shared/seq") as uid $uid, memory intact, stdout and stderr in place"
}

# check_mount_flags NAME INIT_PID: the container's mounts are as the manifest says: the root
# read-only, every bind nosuid, read-only exactly where the manifest says so. (CRIU 4.1.1 gives a
# bind whose source lies inside another bind's source the host's flags on restore; the test's
# binds are not nested.)
check_mount_flags() {
    python3 - "$work/$1/manifest.copy.json" "/proc/$2/mountinfo" <<'PY' || fail "$1: mount flags differ from the manifest"
import json, sys
manifest = json.load(open(sys.argv[1]))
options = {}
for line in open(sys.argv[2]):
    fields = line.split()
    options[fields[4]] = fields[5].split(",")
if "ro" not in options["/"]:
    sys.exit("the root is not read-only")
for mount in manifest["mounts"]:
    found = options.get(mount["target"])
    if found is None or "nosuid" not in found or ("ro" in found) != mount["read-only"]:
        sys.exit("%s is mounted with %s" % (mount["target"], found))
PY
}

# stop NAME: the workload exits with 3 once shared/stop exists; the init writes it to the file.
stop() {
    local dir=$work/$1
    touch "$dir/shared/stop"
    wait_until 10 "$1's exit-status file" test -s "$dir/job/status"
    [ "$(cat "$dir/job/status")" = 3 ] || fail "$1: exit-status file says $(cat "$dir/job/status"), expected 3"
    check_sequence "$dir/shared/seq"
}

# migrate NAME AS: the migration itself, to disk; AS is root or user (see start_container).
migrate() {
    local name=$1 init
    start_container "$name" "$2"
    dump "$name" "$work/$name/images"
    check_frozen "$name"
    kill_source "$name"
    restore "$name" "$work/$name/images"
    init=$(cat "$work/$name/restored.pid")
    check_running "$name" "$init"
    if [ "$2" = user ]; then
        check_unprivileged "$name" "$init"
    fi
    stop "$name"
    wait_until 10 "the restored init to exit" bash -c "! kill -0 $init 2>/dev/null"
    migrate_times="dump ${dump_seconds} s, restore ${restore_seconds} s"
}

scenario_rollback() {
    local name=rollback pid
    start_container "$name" root
    dump "$name" "$work/$name/images"
    check_frozen "$name"
    for pid in $(container_pids "$(cat "$work/$name/init.pid")"); do
        kill -CONT "$pid"
    done
    check_running "$name" "$(cat "$work/$name/init.pid")"
    stop "$name"
    check_outer_exit "$name" 3
    [ ! -e "$work/$name/state" ] && [ ! -e "$work/$name/manifest.json" ] || fail "$name: state left behind"
    log "$name: resumed in place, lifeboat-run exited 3"
}

scenario_page_server() {
    local name=page-server dir=$work/page-server port init
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    start_container "$name" root
    mkdir -p "$dir/target"
    # The target's page server: -D where the pages land, --address/--port what it listens on
    # (loopback here; a node's address in a cluster), -d to run in the background, --pidfile to
    # be sure it is gone at the end. It exits by itself when the dump closes the connection.
    criu_run "$dir/target/page-server.log" page-server -D "$dir/target" --address 127.0.0.1 --port "$port" -d \
        --pidfile "$page_server_pidfile" -o page-server.log -v4
    # --page-server --address --port: memory goes straight to the target instead of to -D.
    dump "$name" "$dir/local" --page-server --address 127.0.0.1 --port "$port"
    local page_seconds=$dump_seconds
    wait_until 10 "the page server to finish" bash -c "! kill -0 $(cat "$page_server_pidfile") 2>/dev/null"
    log "$name: $(du -sm "$dir/target" | cut -f1) MiB arrived at the page server, $(du -sk "$dir/local" | cut -f1) KiB stayed local"
    check_frozen "$name"
    kill_source "$name"
    # The rest of the images (process tree, files, mounts, tmpfs contents) follow the pages.
    cp -n "$dir/local"/* "$dir/target/"
    restore "$name" "$dir/target"
    init=$(cat "$dir/restored.pid")
    check_running "$name" "$init"
    stop "$name"
    page_server_times="dump ${page_seconds} s, restore ${restore_seconds} s"
}

# A container in a network namespace of its own (--netns, as a node's namespace in the testbed):
# CRIU runs inside that namespace, so it neither saves nor recreates it; the target restores the
# tree into its own namespace the same way.
scenario_netns() {
    local name=netns namespace init
    namespace=lifeboat-roundtrip-$$
    ip netns add "$namespace"
    echo "$namespace" >"$work/netns.name"
    # CRIU probes TCP repair over loopback when it starts: without lo up it fails at once.
    ip -n "$namespace" link set lo up
    start_container "$name" root --netns "/run/netns/$namespace"
    [ "$(stat -L -c %i "/proc/$(cat "$work/$name/init.pid")/ns/net")" = "$(stat -L -c %i "/run/netns/$namespace")" ] ||
        fail "$name: the container is not in $namespace"
    criu_prefix=(nsenter --net="/run/netns/$namespace")
    dump "$name" "$work/$name/images"
    kill_source "$name"
    restore "$name" "$work/$name/images"
    criu_prefix=()
    init=$(cat "$work/$name/restored.pid")
    [ "$(stat -L -c %i "/proc/$init/ns/net")" = "$(stat -L -c %i "/run/netns/$namespace")" ] ||
        fail "$name: restored outside $namespace"
    check_running "$name" "$init"
    stop "$name"
    log "$name: migrated within network namespace $namespace"
}

# The job's user, through the setuid launcher: the init and CMD run with the user's ids, no
# capability and no_new_privs, the default state directory holds the manifest and goes away.
# CRIU itself can dump another user's tree only with CAP_SYS_RESOURCE (it reads the tree's
# rlimits with prlimit(2)), which root lacks on some machines: there the migration is skipped.
scenario_user() {
    local name=user init
    local capabilities
    capabilities=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
    if (((0x$capabilities >> 24 & 1) == 0)); then # bit 24: CAP_SYS_RESOURCE
        start_container "$name" user
        init=$(cat "$work/$name/init.pid")
        check_unprivileged "$name" "$init"
        stop "$name"
        check_outer_exit "$name" 3
        log "$name: ran and stopped as uid $test_uid; not migrated: root lacks CAP_SYS_RESOURCE here, which CRIU needs for another user's tree"
        return
    fi
    migrate "$name" user
    log "$name: migrated as uid $test_uid"
}

check_unprivileged() {
    local name=$1 init=$2 pid field
    for pid in $(container_pids "$init"); do
        for field in Uid Gid; do
            awk -v field="$field:" -v id="$([ $field = Uid ] && echo "$test_uid" || echo "$test_gid")" \
                '$1 == field && !($2 == id && $3 == id && $4 == id && $5 == id) { exit 1 }' "/proc/$pid/status" ||
                fail "$name: process $pid has other ids than the user's"
        done
        grep -q '^CapEff:[[:space:]]*0*$' "/proc/$pid/status" || fail "$name: process $pid has capabilities"
        grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$pid/status" || fail "$name: process $pid lacks no_new_privs"
    done
}

# check_outer_exit NAME CODE: lifeboat-run (not migrated) exits with CMD's status and cleans up.
check_outer_exit() {
    local name=$1 expected=$2 code=0 outer
    outer=$(cat "$work/$name/outer.pid")
    wait "$outer" || code=$?
    [ "$code" = "$expected" ] || fail "$name: lifeboat-run exited $code, expected $expected"
    [ ! -e "/run/lifeboat/containers/$outer" ] || fail "$name: state directory left behind"
}

# refuse REASON OPTIONS...: the user's lifeboat-run must fail with 125 and say why.
refuse() {
    local reason=$1 output code=0
    shift
    output=$(cd "$work/refusals/job" && setpriv --reuid="$test_uid" --regid="$test_gid" --clear-groups \
        "$work/lifeboat-run" "$@" 2>&1) || code=$?
    [ "$code" = 125 ] || fail "refusals: $reason: exit code $code, expected 125"
    grep -q '^lifeboat-run: ' <<<"$output" || fail "refusals: $reason: no message"
}

# What the setuid launcher refuses a user, each with exit code 125 and a message.
scenario_refusals() {
    local dir=$work/refusals code=0
    mkdir -p "$dir/job" "$work/secret/inner"
    chmod 700 "$work/secret"
    chown "$test_uid:$test_gid" "$dir/job"
    refuse "root-only option" --state-dir "$dir/state" -- true
    refuse "unreachable bind source" --bind "$work/secret/inner:/data" -- true
    refuse "output outside the container" --stdout "$work/out" -- true
    refuse "bind over /proc" --bind "$dir/job:/proc/x" -- true
    refuse "bind through a symlink" --bind "$dir/job:/bin/x" -- true
    refuse "working directory /" --chdir / -- true
    refuse "no command" --stdout out
    refuse "non-UTF-8 argument" -- $'\xff'
    refuse "the internal init mode" --container-init -- true
    (cd "$dir/job" && setpriv --reuid="$test_uid" --regid="$test_gid" --clear-groups \
        "$work/lifeboat-run" --stderr err -- /nonexistent) || code=$?
    [ "$code" = 127 ] || fail "refusals: a missing command gave $code, expected 127"
    grep -q "execute /nonexistent" "$dir/job/err" || fail "refusals: no message for a missing command"
    log "refusals: each refused with 125; a missing command gave 127"
}

log "CRIU $("$CRIU" --version | awk '/^Version/ { print $2 }'), workload of $MIB MiB, work directory $work"
migrate migrate root
scenario_rollback
scenario_page_server
scenario_netns
scenario_user
scenario_refusals
log "timings for $MIB MiB: to disk: $migrate_times; through the page server: $page_server_times"
echo "6 passed, 0 failed"
