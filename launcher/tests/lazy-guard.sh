#!/usr/bin/env bash
# Tests lifeboat-lazy-guard with real CRIU post-copy (lazy-pages) migrations on this machine.
#
#   launcher/tests/lazy-guard.sh        (as root; CRIU >= 4.2 from testbed/criu.sh, or $CRIU)
#   SCENARIOS="guarded-kills" launcher/tests/lazy-guard.sh        (some of them only)
#
# Each migration starts tests/lifeboat-workload (MIB MiB of random memory, default 256, counting
# every 100 ms) as the init of a PID and mount namespace of its own, dumps it with `criu dump
# --lazy-pages` (the source keeps the memory and serves it), runs `criu lazy-pages --page-server`
# (the target's daemon) and restores the tree with `criu restore --lazy-pages`, stopped, then
# resumes it as the agent does. The pages go from the dump to the daemon through a relay of the
# test's (two Unix sockets, as the agent's page relay: a relay is what the test can kill to cut
# the link mid-transfer); in the scenarios that cut it, it forwards RATE_MIB MiB/s (default 64) so
# that the transfer lasts seconds, and the link is cut once a quarter of the memory went through,
# hard (the relay killed, the dump most likely in the middle of sending: it fails, exits 1 and
# resumes the source) or clean (between two requests: the dump takes the end of the connection for
# the end of the transfer, exits 0 and kills the source, so only the target's copy is left: the
# worst case, which the helper that measured the hazard hit with a TCP relay).
#   usage               the guard refuses bad usage with exit code 2, writing and running nothing;
#   complete            under the guard every page arrives: status "complete", the guard traced the
#                       daemon and held no copy of its userfaultfds meanwhile (one held while CRIU
#                       works keeps a finished process's userfaultfd in CRIU's epoll set: CRIU then
#                       crashed in the agent's test), the restored workload's memory is ok and it
#                       counts on from where it was dumped;
#   unguarded-corrupts  the hazard: without the guard, the link cut (clean): the daemon dies, the kernel
#                       releases its userfaultfds, and the restored workload, asked to check its
#                       memory, reports CORRUPT (the missing pages read as zeros). This scenario
#                       passes when it does: it shows why the guard exists and that this test sees
#                       corruption when there is some;
#   guarded-kills       the same under the guard (cut hard): its memory check asked for at the cut,
#                       the workload never reports (it waits in a fault on a missing page), the
#                       guard's status says "failed: ..." and the restored tree is dead;
#   agent-gone          the guard's first process returns while the daemon runs; whatever started
#                       it (a session of its own) is then killed whole with SIGKILL; the guard and
#                       its daemon run on, and when the link is cut (clean) the guard still kills
#                       the tree and writes its status.
# Everything the test starts is killed at the end of each scenario, its directory removed at the
# end (kept with KEEP_WORK=1). CRIU logs go into each scenario's image directory, quoted when a
# scenario fails. Each scenario logs what it measured; the last line is "N passed, M failed".
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
launcher_dir=$(dirname "$here")
repo_dir=$(dirname "$launcher_dir")
MIB=${MIB:-256}
RATE_MIB=${RATE_MIB:-64}
SCENARIOS=${SCENARIOS:-usage complete unguarded-corrupts guarded-kills agent-gone}
guard=$launcher_dir/lifeboat-lazy-guard
with_fds=$launcher_dir/lifeboat-with-fds
workload=$launcher_dir/tests/lifeboat-workload

log() { printf 'lazy-guard: %s\n' "$*" >&2; }
fail() {
    printf 'lazy-guard: FAILED: %s\n' "$*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || fail "must run as root (CRIU)"
CRIU=${CRIU:-$("$repo_dir/testbed/criu.sh")}
make -s -C "$launcher_dir" lifeboat-lazy-guard lifeboat-with-fds tests/lifeboat-workload || fail "build"
"$CRIU" check --feature uffd-noncoop >/dev/null 2>&1 || fail "CRIU says this kernel lacks non-cooperative userfaultfd"
# What the RPM's sysctl.d file and the testbed set: CRIU's lazy-page server sizes a pipe to 819 pages
# and, below this limit (the kernel's default is 1 MiB), fails at the first page it serves.
if [ "$(cat /proc/sys/fs/pipe-max-size)" -lt 4194304 ]; then
    log "fs.pipe-max-size was $(cat /proc/sys/fs/pipe-max-size): set to 4194304"
    sysctl -qw fs.pipe-max-size=4194304 || fail "cannot raise fs.pipe-max-size"
fi
work=$(mktemp -d /tmp/lifeboat-lazy-guard.XXXXXX)

# Every process this test started, however far down: each has a path below $work on its command
# line (the workload's files, CRIU's image directory, the relay's sockets, the guard's files). The
# restored workload is nobody's child here, and the guard leaves its parent on purpose: a job list
# would miss both.
command_line() { tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" || true; }
test_pids() {
    local proc line
    for proc in /proc/[0-9]*; do
        line=$(command_line "${proc#/proc/}")
        if [[ $line == *"$work/"* ]]; then echo "${proc#/proc/}"; fi
    done
}
kill_test_processes() { test_pids | xargs -r kill -KILL 2>/dev/null || true; }
cleanup() {
    local status=$?
    kill_test_processes
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
    exit $status
}
trap cleanup EXIT

# pids_of DIR COMM WORD: the test's processes of one scenario named COMM (as in /proc/PID/comm,
# 15 characters at most) whose command line holds WORD.
pids_of() {
    local pid line
    for pid in $(test_pids); do
        line=$(command_line "$pid")
        if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && [[ $line == *"$1/"* && $line == *"$3"* ]]; then
            echo "$pid"
        fi
    done
}
# The daemon of a scenario, and its guard (once the guard's first process has returned).
daemon_of() { pids_of "$1" criu " lazy-pages "; }
guard_of() { pids_of "$1" lifeboat-lazy-g "$1/status"; }
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
dead() { ! alive "$1"; }
userfaultfds() { find "/proc/$1/fd" -lname 'anon_inode:\[userfaultfd\]' 2>/dev/null | wc -l; }
tracer_of() { awk '/^TracerPid:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
# traces GUARD DAEMON: the guard ptraces the daemon (for its exit stop).
traces() { [ "$(tracer_of "$2")" = "$1" ]; }

# The source side's namespaces get a private copy of every host mount. Of these only /, /proc,
# /dev and /sys stay: the rest (CI's nsfs mounts under /run/netns, which CRIU cannot dump, the
# testbed's tmpfs, which it would copy whole, whatever another test mounted meanwhile) is lazily
# unmounted in that copy alone (its propagation is private: the host's mounts stay). Then the
# workload runs with descriptors 0-2 opened inside (CRIU refuses one opened outside the namespace).
isolate='
for mount in $(awk "{ print \$5 }" /proc/self/mountinfo | sort -r); do
    case $mount in
    / | /proc | /proc/* | /dev | /dev/* | /sys | /sys/*) ;;
    *) umount -l "$mount" 2>/dev/null ;;
    esac
done
out=$1 err=$2
shift 2
exec "$@" </dev/null >"$out" 2>"$err"'

# start_workload DIR: the workload as PID 1 (and session leader, as CRIU needs) of new PID and
# mount namespaces; its host pid goes into DIR/source.pid once it has filled its memory.
start_workload() {
    local dir=$1 unshare child
    mkdir -p "$dir/images"
    (
        # No descriptor of this shell's may reach the tree (a harness may pass some).
        for fd in $(ls "/proc/$BASHPID/fd"); do
            if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        exec unshare --pid --fork --mount-proc --mount --propagation private -- setsid sh -c "$isolate" sh \
            "$dir/out" "$dir/err" "$workload" "$dir/seq" "$dir/stop" "$MIB" </dev/null >/dev/null 2>&1
    ) &
    unshare=$!
    # Once it counts, the workload is unshare's only child (before, the child seen may still be
    # the subshell's ls).
    wait_until 30 "the workload to count" count_at_least "$dir/seq" 3
    child=$(cat "/proc/$unshare/task/$unshare/children")
    [ "$(cat "/proc/${child// /}/comm")" = lifeboat-worklo ] || fail "the namespace's init is not the workload"
    echo "${child// /}" >"$dir/source.pid"
}

# start_relay DIR RATE: the link between source and target: forwards between the dump's
# connection (DIR/source.sock) and the daemon's (DIR/target.sock), the pages (source to target) at
# RATE MiB/s (0: as fast as it can), and notes in DIR/relayed how many MiB of them went through.
# It ends when both sides have closed. Two ways to cut the link (cut_link): SIGKILL ends it at
# once, the dump most likely in the middle of sending pages; SIGUSR1 ends it cleanly: it forwards
# no more requests of the daemon's, passes on what the dump still sends until the dump has been
# quiet for 0.3 s, then exits, so that the dump sees the connection end between two requests.
start_relay() {
    local dir=$1
    python3 - "$dir/source.sock" "$dir/target.sock" "$dir/relayed" "$2" <<'PY' &
import os, select, signal, socket, sys, time
source_path, target_path, relayed_path, rate = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]) * 2**20
cutting = False
def cut(signal_number, frame):
    global cutting
    cutting = True
signal.signal(signal.SIGUSR1, cut)
servers = []
for path in (source_path, target_path):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    servers.append(server)
source = servers[0].accept()[0]
target = servers[1].accept()[0]
peer = {source: target, target: source}
open_sides = [source, target]
relayed, started, noted = 0, time.monotonic(), 0
while open_sides:
    watched = [side for side in open_sides if not (cutting and side is target)]
    readable = select.select(watched, [], [], 0.3 if cutting else 0.1)[0]
    if cutting and not readable:
        os._exit(0)
    for side in readable:
        data = side.recv(1 << 16)
        if not data:
            # Half-close: the other side learns of the end, and may still answer.
            peer[side].shutdown(socket.SHUT_WR)
            open_sides.remove(side)
            continue
        peer[side].sendall(data)
        if side is not source:
            continue
        relayed += len(data)
        if rate:
            ahead = relayed / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
        if relayed >> 20 > noted:
            noted = relayed >> 20
            with open(relayed_path + ".new", "w") as note:
                note.write("%d\n" % noted)
            os.replace(relayed_path + ".new", relayed_path)
PY
    echo $! >"$dir/relay.pid"
    # Killed on purpose: no job report of it.
    disown $!
    wait_until 10 "the relay's sockets" test -S "$dir/target.sock"
}
relayed_at_least() { [ "$(cat "$1/relayed" 2>/dev/null || echo 0)" -ge "$2" ]; }

# quote_log FILE: the end of a CRIU log, for a failure's message.
quote_log() { { tail -n 15 "$1" 2>&1 || true; } | sed 's/^/    /' >&2; }

# start_dump DIR: the source's `criu dump --lazy-pages`: it dumps everything but the memory,
# then serves the pages over the relay (--ps-socket: the connection lifeboat-with-fds made) until
# the daemon has them all, then kills the source tree. Its pid goes into DIR/dump.pid.
start_dump() {
    local dir=$1 dump
    "$with_fds" 5:u:"$dir/source.sock" -- "$CRIU" dump -t "$(cat "$dir/source.pid")" -D "$dir/images" \
        --lazy-pages --ps-socket 5 -o dump.log -v4 &
    dump=$!
    echo $dump >"$dir/dump.pid"
    dumped_at=$(last_number "$dir/seq")
    local deadline=$((SECONDS + 30))
    until grep -q 'Starting lazy pages server' "$dir/images/dump.log" 2>/dev/null; do
        if dead "$dump" || [ $SECONDS -ge $deadline ]; then
            quote_log "$dir/images/dump.log"
            fail "the dump did not start its lazy page server"
        fi
        sleep 0.05
    done
}

# The target's daemon: its connection to the relay on descriptor 5, its log in the images.
daemon_command() {
    lazy_pages=("$with_fds" 5:u:"$1/target.sock" -- "$CRIU" lazy-pages --page-server --ps-socket 5
        -D "$1/images" -o lazy-pages.log -v4)
}

# start_guarded DIR: the daemon under the guard, as the agent starts it; returns once the guard's
# first process has, i.e. when the daemon is ready for the restore.
start_guarded() {
    local dir=$1 code=0
    daemon_command "$dir"
    "$guard" "$dir/status" "$dir/guard.pid" -- "${lazy_pages[@]}" --status-fd 3 || code=$?
    if [ "$code" != 0 ]; then
        quote_log "$dir/images/lazy-pages.log"
        fail "the guard's first process exited $code"
    fi
}

# restore DIR: `criu restore --lazy-pages` from the daemon, the tree left stopped; then what the
# agent does once the restore succeeded: it names the tree's init to the guard (a file written
# whole, renamed into place, so the guard never reads half a number) and resumes the tree.
restore() {
    local dir=$1 started
    started=$(now)
    criu_run "$dir/images/restore.log" restore -D "$dir/images" --lazy-pages --leave-stopped -d --root / \
        --pidfile "$dir/restored.pid" -o restore.log -v4
    restore_seconds=$(elapsed "$started" "$(now)")
    restored=$(cat "$dir/restored.pid")
    echo "$restored" >"$dir/guard.pid.new"
    mv "$dir/guard.pid.new" "$dir/guard.pid"
    kill -CONT "$restored"
    resumed_at=$(now)
}

# How many memory reports the workload of DIR has written.
reports() { grep -c '^workload: memory' "$1/out" || true; }
more_reports() { [ "$(reports "$1")" -gt "$2" ]; }
# memory_report DIR PID: asks the workload to check its memory; its answer, "ok" or "CORRUPT".
memory_report() {
    local before
    before=$(reports "$1")
    kill -USR1 "$2"
    wait_until 20 "the workload's memory report" more_reports "$1" "$before"
    grep '^workload: memory' "$1/out" | tail -n 1 | awk '{ print $3 }'
}

# source_fate DIR: once the dump has ended, its exit code and whether the source workload lives
# on, in $source_result. CRIU kills the source tree once every page went over (exit 0); a
# transfer it saw fail, it resumes the tree and exits 1.
source_fate() {
    local dir=$1 code=0 dump
    dump=$(cat "$dir/dump.pid")
    wait_until 20 "the source dump to end" dead "$dump"
    wait "$dump" || code=$?
    local state
    state=$(awk '/^State:/ { print $3 }' "/proc/$(cat "$dir/source.pid")/status" 2>/dev/null || true)
    case $state in
    "" | "(zombie)") state=gone ;;
    *) state="running on $state" ;;
    esac
    source_result="source dump exited $code, source workload $state"
}

# cut_link DIR hard|clean [PID]: cuts the link once a quarter of the memory went through: the
# relay is killed (hard), or ends between two requests (clean, see start_relay). With PID, the
# restored workload is asked to check its memory at once, before the daemon can notice the cut
# (while the relay drains, its faults wait for requests the relay no longer forwards); the tree may
# be dead already when it is asked.
cut_link() {
    local dir=$1 relay
    relay=$(cat "$dir/relay.pid")
    wait_until 30 "a quarter of the memory through the relay" relayed_at_least "$dir" $((MIB / 4))
    if [ "$2" = hard ]; then
        kill -KILL "$relay"
        cut_at=$(now)
        [ -z "${3:-}" ] || kill -USR1 "$3" 2>/dev/null || true
    else
        kill -USR1 "$relay"
        [ -z "${3:-}" ] || kill -USR1 "$3" 2>/dev/null || true
        wait_until 10 "the relay to end" dead "$relay"
        cut_at=$(now)
    fi
    log "$(basename "$dir"): link cut ($2) after $(cat "$dir/relayed") MiB of $MIB, $(elapsed "$resumed_at" "$cut_at") s after the resume"
}

# The guard's status file, once it has written it.
guard_status() {
    wait_until 20 "the guard's status" test -s "$1/status"
    cat "$1/status"
}

# cut_guarded DIR hard|clean: while pages flow, the guard traces the daemon and holds no copy of
# its userfaultfds; then the link is cut and the workload asked to check its
# memory: the check reads pages that never arrived. The guard must then say it killed the tree,
# the tree must be dead, and it must never have reported its memory: neither CORRUPT (zeros read)
# nor anything else (pages were missing). Without the guard's kill it reports CORRUPT.
cut_guarded() {
    local dir=$1 status daemon guard_pid
    wait_until 20 "pages to flow" relayed_at_least "$dir" 1
    daemon=$(daemon_of "$dir")
    guard_pid=$(guard_of "$dir")
    traces "$guard_pid" "$daemon" || fail "the guard does not trace the daemon ($(tracer_of "$daemon"))"
    [ "$(userfaultfds "$guard_pid")" = 0 ] || fail "the guard holds copies of the daemon's userfaultfds while it works"
    cut_link "$dir" "$2" "$restored"
    status=$(guard_status "$dir")
    case $status in
    "failed: "*"the restored tree was killed") ;;
    *) fail "guard status: $status" ;;
    esac
    local deadline=$((SECONDS + 5))
    while alive "$restored"; do
        [ $SECONDS -lt $deadline ] || fail "the restored workload lives on; its reports: $(grep '^workload: memory' "$dir/out" | tr '\n' ' ')"
        sleep 0.1
    done
    killed_in=$(elapsed "$cut_at" "$(now)")
    ! grep -q CORRUPT "$dir/out" || fail "the restored workload reported CORRUPT memory: $(grep CORRUPT "$dir/out")"
    ! grep -q '^workload: memory' "$dir/out" || fail "the restored workload checked its memory with pages missing"
}

scenario_usage() {
    local dir=$work/usage code
    mkdir -p "$dir"
    local -a cases=("" "$dir/status" "$dir/status $dir/pid --" "$dir/status $dir/pid touch $dir/ran")
    for arguments in "${cases[@]}"; do
        code=0
        # shellcheck disable=SC2086 # each case is a list of words
        "$guard" $arguments 2>"$dir/stderr" || code=$?
        [ "$code" = 2 ] || fail "usage: '$arguments' exited $code, expected 2"
        grep -q '^usage: lifeboat-lazy-guard ' "$dir/stderr" || fail "usage: '$arguments' gave no usage message"
    done
    [ ! -e "$dir/status" ] && [ ! -e "$dir/ran" ] || fail "usage: a refused call wrote its status or ran its command"
    log "usage: ${#cases[@]} bad calls each refused with exit code 2, nothing written or run"
}

scenario_complete() {
    local dir=$work/complete started status taken now_taken
    start_workload "$dir"
    start_relay "$dir" 0
    started=$(now)
    start_dump "$dir"
    local dump_ready
    dump_ready=$(elapsed "$started" "$(now)")
    start_guarded "$dir"
    local guard_pid
    guard_pid=$(guard_of "$dir")
    local daemon
    daemon=$(daemon_of "$dir")
    traces "$guard_pid" "$daemon" || fail "the guard does not trace the daemon ($(tracer_of "$daemon"))"
    restore "$dir"
    # While the pages come, the guard holds no copy of the daemon's userfaultfds: the most seen at
    # once until it writes its status.
    taken=0
    until [ -s "$dir/status" ] || dead "$guard_pid"; do
        now_taken=$(userfaultfds "$guard_pid")
        [ "$now_taken" -le "$taken" ] || taken=$now_taken
        sleep 0.02
    done
    status=$(guard_status "$dir")
    [ "$status" = complete ] || fail "guard status: $status"
    local transfer
    transfer=$(elapsed "$resumed_at" "$(now)")
    [ "$taken" = 0 ] || fail "the guard held $taken copies of the daemon's userfaultfds while CRIU worked"
    [ "$(memory_report "$dir" "$restored")" = ok ] || fail "the restored workload's memory is not intact: $(tail -n 1 "$dir/out")"
    wait_until 10 "the restored workload to count on" count_at_least "$dir/seq" $((dumped_at + 3))
    check_sequence "$dir/seq"
    source_fate "$dir"
    log "complete: $MIB MiB; dump until serving ${dump_ready} s, restore ${restore_seconds} s, all pages in" \
        "${transfer} s after the resume; guard traced the daemon, held no userfaultfd; memory ok, counting on at" \
        "$(last_number "$dir/seq") (dumped at $dumped_at); $source_result"
}

scenario_unguarded_corrupts() {
    local dir=$work/unguarded-corrupts daemon code=0 report
    start_workload "$dir"
    start_relay "$dir" "$RATE_MIB"
    start_dump "$dir"
    daemon_command "$dir"
    "${lazy_pages[@]}" &
    daemon=$!
    wait_until 10 "the daemon's socket" test -S "$dir/images/lazy-pages.socket"
    restore "$dir"
    cut_link "$dir" clean
    wait "$daemon" || code=$?
    [ "$code" != 0 ] || fail "the daemon exited 0 after the cut: the guard would take it for success"
    report=$(memory_report "$dir" "$restored")
    [ "$report" = CORRUPT ] || fail "no corruption seen without the guard (memory $report): the test cannot show the hazard"
    source_fate "$dir"
    log "unguarded-corrupts: daemon exited $code after the cut; the restored workload runs on and reports" \
        "CORRUPT memory; $source_result"
}

scenario_guarded_kills() {
    local dir=$work/guarded-kills
    start_workload "$dir"
    start_relay "$dir" "$RATE_MIB"
    start_dump "$dir"
    start_guarded "$dir"
    restore "$dir"
    cut_guarded "$dir" hard
    source_fate "$dir"
    log "guarded-kills: after the cut: '$(tr -d '\n' <"$dir/status")'," \
        "tree dead ${killed_in} s after the cut, no memory report; $source_result"
}

scenario_agent_gone() {
    local dir=$work/agent-gone starter daemon guard_pid
    start_workload "$dir"
    start_relay "$dir" "$RATE_MIB"
    start_dump "$dir"
    daemon_command "$dir"
    # The agent: a session of its own that starts the guard, notes its first process's exit code,
    # and stays until it is killed.
    setsid bash -c 'echo $$ >"$1/starter.pid"; "${@:2}"; echo $? >"$1/first.rc"; while :; do sleep 0.2; done' \
        starter "$dir" "$guard" "$dir/status" "$dir/guard.pid" -- "${lazy_pages[@]}" --status-fd 3 &
    disown $!
    wait_until 10 "the guard's first process to return" test -s "$dir/first.rc"
    [ "$(cat "$dir/first.rc")" = 0 ] || fail "the guard's first process exited $(cat "$dir/first.rc")"
    daemon=$(daemon_of "$dir")
    [ -n "$daemon" ] && alive "$daemon" || fail "no daemon running after the guard's first process returned"
    guard_pid=$(guard_of "$dir")
    starter=$(cat "$dir/starter.pid")
    # The agent dies with all its session's process group.
    kill -KILL -- "-$starter"
    wait_until 5 "the starter to die" dead "$starter"
    alive "$guard_pid" && alive "$daemon" || fail "the guard or its daemon died with the starter"
    [ ! -e "$dir/status" ] || fail "the guard wrote its status when its starter died: $(cat "$dir/status")"
    restore "$dir"
    cut_guarded "$dir" clean
    source_fate "$dir"
    log "agent-gone: first process returned 0 with the daemon running; guard $guard_pid outlived its" \
        "starter's session; after the cut: '$(tr -d '\n' <"$dir/status")'," \
        "tree dead ${killed_in} s after the cut; $source_result"
}

log "CRIU $("$CRIU" --version | awk '/^Version/ { print $2 }'), workload of $MIB MiB, relay at $RATE_MIB MiB/s" \
    "when cut, work directory $work"
passed=0
failed=0
for scenario in $SCENARIOS; do
    case $scenario in
    usage | complete | unguarded-corrupts | guarded-kills | agent-gone) ;;
    *) fail "unknown scenario $scenario" ;;
    esac
    started=$(now)
    # Each scenario in a subshell of its own: a failure ends that scenario only.
    (
        set -e
        "scenario_${scenario//-/_}"
    )
    code=$?
    # Each scenario's processes go before the next starts (the guard may still be killing).
    kill_test_processes
    if [ "$code" = 0 ]; then
        passed=$((passed + 1))
        log "pass: $scenario ($(elapsed "$started" "$(now)") s)"
    else
        failed=$((failed + 1))
        log "FAIL: $scenario"
        for file in "$work/$scenario"/images/*.log; do
            [ -e "$file" ] || continue
            printf 'lazy-guard: end of %s:\n' "$file" >&2
            grep -v 'RLIMIT_NOFILE' "$file" | tail -n 6 | sed 's/^/    /' >&2
        done
    fi
done
echo "lazy-guard: $passed passed, $failed failed"
[ "$failed" = 0 ]
