#!/usr/bin/env bash
# Proves that the tasks of one Slurm job on one node share one container (issue 23, item 3), and
# that one CRIU run moves them together.
#
#   launcher/tests/shared-container.sh        (as root; CRIU >= 4.2 from testbed/criu.sh, or $CRIU)
#
# Two lifeboat-runs with the same SLURM_JOB_ID, each in that job's cgroup (made here in the unified
# hierarchy as job_ID/step_0, as Slurm's proctrack/cgroup does), fake two tasks of a job step on
# one node, each running tests/lifeboat-workload (counting into its own sequence file):
#   share-root   as root: one PID and mount namespace (so one /tmp and /dev/shm) and one init for
#                both; the job's record names it; the tasks' records carry SLURM_PROCID; SIGTERM
#                to one launcher ends its task only (143) while the other counts on; each launcher
#                exits with its own task's status (143, then 10), and the container then ends;
#   share-user   the same as TEST_USER (lbalice) through a setuid-root copy of lifeboat-run;
#   four-at-once four launchers of a job started at the same moment: exactly one container, and
#                each launcher exits with its own task's code (20-23);
#   orphans      both launchers SIGKILLed: their tasks are killed and the container ends;
#   migrate      as root: one `criu dump` of the init takes both tasks; the tree is killed (both
#                launchers exit 137), restored into a root rebuilt from the manifest, and both
#                tasks count on from where they stopped; the requeued job's launchers, started
#                again with a resume marker, each wait for their own task (found by its step and
#                SLURM_LOCALID) and exit with its status (10, then 11).
#   migrate-renumbered
#                the same for this node's part of a job on two nodes that moves to another pair:
#                its tasks were ranks 2 and 3 (SLURM_PROCID; local ids 0 and 1), and the requeued
#                job, whose node list now begins with this node, runs them as ranks 0 and 1. The
#                restored records still say procid=2 and procid=3; each requeued launcher finds
#                the task of its own local id all the same and exits with its status (10, 11).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
launcher_dir=$(dirname "$here")
repo_dir=$(dirname "$launcher_dir")
TEST_USER=${TEST_USER:-lbalice}
MIB=${MIB:-16}

log() { printf 'shared-container: %s\n' "$*" >&2; }
fail() {
    printf 'shared-container: FAILED: %s\n' "$*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || fail "must run as root (CRIU, setuid launcher, cgroups)"
CRIU=${CRIU:-$("$repo_dir/testbed/criu.sh")}
make -s -C "$launcher_dir" lifeboat-run tests/lifeboat-workload
test_uid=$(id -u "$TEST_USER")
test_gid=$(id -g "$TEST_USER")

work=$(mktemp -d /tmp/lifeboat-shared.XXXXXX)
chmod 755 "$work"
install -m 4755 "$launcher_dir/lifeboat-run" "$work/lifeboat-run"
job_cgroups lifeboat-shared

cleanup() {
    local status=$?
    kill_containers
    end_jobs
    remove_job_cgroups
    unmount_work
    # The jobs' records (the orphans' launchers, killed with SIGKILL, leave theirs: stale, harmless).
    rm -f /run/lifeboat/jobs/{910,911,912,913,914,915}-{0,"$test_uid"}*
    rm -rf "$work"
    exit $status
}
trap cleanup EXIT

# start_task SCENARIO AS JOB LOCALID [PROCID]: task LOCALID on this node of JOB's step 0, rank
# PROCID (LOCALID if not given) of the job, as root or as the user ("user"), running the workload in
# $work/SCENARIO; its files and its launcher's pid ($work/SCENARIO/LOCALID.outer) are named after
# LOCALID, which a move keeps (the rank may change).
start_task() {
    local scenario=$1 as=$2 job=$3 localid=$4 procid=${5:-$4} dir=$work/$1
    local launcher=$launcher_dir/lifeboat-run prefix=()
    if [ "$as" = user ]; then
        launcher=$work/lifeboat-run
        prefix=(setpriv --reuid="$test_uid" --regid="$test_gid" --clear-groups)
    fi
    (
        enter_cgroup "job_$job/step_0"
        cd "$dir"
        export SLURM_JOB_ID=$job SLURM_STEP_ID=0 SLURM_PROCID=$procid SLURM_LOCALID=$localid SLURMD_NODENAME=node1
        exec "${prefix[@]}" "$launcher" "${extra_options[@]}" --stdout "out.$localid" --stderr "err.$localid" \
            --exit-status-file "status.$localid" -- ./lifeboat-workload "seq.$localid" "stop.$localid" "$MIB"
    ) >"$dir/$localid.log" 2>&1 &
    echo $! >"$dir/$localid.outer"
    echo "$procid" >"$dir/$localid.procid"
}

extra_options=() # --resume-dir for the requeued job's launchers (root only)

# The task whose workload counts into seq.LOCALID, among the processes of INIT's namespace.
task_pid() {
    local pid
    for pid in $(pgrep --ns "$2" --nslist pid); do
        if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "^./lifeboat-workload seq.$1 "; then
            echo "$pid"
            return
        fi
    done
    return 1
}

# start_pair SCENARIO AS JOB [PROCID0 PROCID1]: tasks 0 and 1 on this node of JOB (ranks PROCID0
# and PROCID1, else 0 and 1), both counting; the init's pid in SCENARIO/init.pid.
start_pair() {
    local scenario=$1 as=$2 job=$3 dir=$work/$1 uid=0 record
    [ "$as" = root ] || uid=$test_uid
    mkdir -p "$dir"
    cp "$launcher_dir/tests/lifeboat-workload" "$dir/"
    [ "$as" = root ] || chown -R "$test_uid:$test_gid" "$dir"
    record=/run/lifeboat/jobs/$job-$uid-node1
    start_task "$scenario" "$as" "$job" 0 "${4:-0}"
    wait_until 10 "the job's record $record" test -s "$record"
    start_task "$scenario" "$as" "$job" 1 "${5:-1}"
    wait_until 30 "$scenario: task 0 to count" count_at_least "$dir/seq.0" 3
    wait_until 30 "$scenario: task 1 to count" count_at_least "$dir/seq.1" 3
    sed -n 's/^init-pid=//p' "$record" >"$dir/init.pid"
    is_container_init "$(cat "$dir/init.pid")" || fail "$scenario: the record names no container init"
}

ns_of() { readlink "/proc/$1/ns/$2"; }

# check_shared SCENARIO: both tasks in the init's PID and mount namespaces (so one /tmp and one
# /dev/shm), children of the one init (built by task 0's launcher), task 1 with its record, each
# launcher with its task file.
check_shared() {
    local scenario=$1 dir=$work/$1 init t0 t1 what file
    init=$(cat "$dir/init.pid")
    t0=$(task_pid 0 "$init") || fail "$scenario: task 0 is not in the init's PID namespace"
    t1=$(task_pid 1 "$init") || fail "$scenario: task 1 is not in the init's PID namespace"
    for what in pid mnt; do
        [ "$(ns_of "$t0" "$what")" = "$(ns_of "$init" "$what")" ] && [ "$(ns_of "$t1" "$what")" = "$(ns_of "$init" "$what")" ] ||
            fail "$scenario: the tasks are not in the init's $what namespace"
    done
    [ "$(awk '/^PPid:/ { print $2 }' "/proc/$t1/status")" = "$init" ] || fail "$scenario: task 1 is not the init's child"
    for what in tmp dev/shm; do
        [ "$(stat -c %d "/proc/$t0/root/$what")" = "$(stat -c %d "/proc/$t1/root/$what")" ] ||
            fail "$scenario: the tasks have different /$what"
    done
    [ "$(awk '/^PPid:/ { print $2 }' "/proc/$init/status")" = "$(cat "$dir/0.outer")" ] ||
        fail "$scenario: the init is not task 0's launcher's child"
    [ -z "$(pgrep -P "$(cat "$dir/1.outer")" -f '^lifeboat-init ' || true)" ] || fail "$scenario: task 1's launcher built a container too"
    file=/proc/$init/root/.lifeboat/tasks/task-$(awk '/^NSpid:/ { print $3 }' "/proc/$t1/status")
    [ "$(grep -v '^exit-status-file=' "$file")" = "$(printf 'step=0\nprocid=%s\nlocalid=1' "$(cat "$dir/1.procid")")" ] ||
        fail "$scenario: task 1's record does not name its step, SLURM_PROCID $(cat "$dir/1.procid") and local id 1: $(cat "$file")"
    # Each launcher's task file tells the agent which task of which container it waits for.
    for what in "0 $t0" "1 $t1"; do
        set -- $what
        file=/run/lifeboat/containers/$(cat "$dir/$1.outer")/task
        grep -qx "init-pid=$init" "$file" && grep -qx "task-pid=$(awk '/^NSpid:/ { print $3 }' "/proc/$2/status")" "$file" ||
            fail "$scenario: $file does not name task $1 of init $init"
    done
    echo "$t0" >"$dir/0.pid"
    echo "$t1" >"$dir/1.pid"
    log "$scenario: tasks $t0 and $t1 share init $init's PID and mount namespaces, /tmp and /dev/shm"
}

# outer_exit SCENARIO PROCID CODE: the task's launcher exits with CODE, the file holds it too.
outer_exit() {
    local dir=$work/$1 code=0
    wait "$(cat "$dir/$2.outer")" || code=$?
    [ "$code" = "$3" ] || fail "$1: task $2's launcher exited $code, expected $3: $(cat "$dir/$2.log")"
    [ "$(cat "$dir/status.$2" 2>/dev/null)" = "$3" ] || fail "$1: status.$2 holds '$(cat "$dir/status.$2" 2>/dev/null)', expected $3"
}

scenario_share() {
    local scenario=share-$1 as=$1 job=$2 uid=0 dir before init
    dir=$work/$scenario
    [ "$as" = root ] || uid=$test_uid
    start_pair "$scenario" "$as" "$job"
    check_shared "$scenario"
    init=$(cat "$dir/init.pid")
    # The user may signal their own launcher: its real uid is theirs.
    kill -TERM "$(cat "$dir/1.outer")"
    outer_exit "$scenario" 1 143
    before=$(last_number "$dir/seq.0")
    wait_until 10 "$scenario: task 0 to count on after task 1 ended" count_at_least "$dir/seq.0" $((before + 3))
    kill -0 "$init" || fail "$scenario: the container ended with task 1"
    echo 10 >"$dir/stop.0"
    outer_exit "$scenario" 0 10
    wait_until 10 "$scenario: the container to end" bash -c "! kill -0 $init 2>/dev/null"
    [ ! -e "/run/lifeboat/jobs/$job-$uid-node1" ] || fail "$scenario: the job's record is left behind"
    [ ! -e "/run/lifeboat/containers/$(cat "$dir/0.outer")" ] && [ ! -e "/run/lifeboat/containers/$(cat "$dir/1.outer")" ] ||
        fail "$scenario: a launcher's state directory is left behind"
    check_sequence "$dir/seq.0"
    log "$scenario: SIGTERM ended task 1 alone (143), task 0 counted on and exited 10; the container ended"
}

scenario_four_at_once() {
    local dir=$work/four job=914 i code
    mkdir -p "$dir"
    for i in 0 1 2 3; do
        (
            enter_cgroup "job_$job/step_0"
            cd "$dir"
            export SLURM_JOB_ID=$job SLURM_STEP_ID=0 SLURM_PROCID=$i SLURM_LOCALID=$i
            exec "$launcher_dir/lifeboat-run" --stdout "ns.$i" -- sh -c "readlink /proc/self/ns/pid; sleep 2; exit $((20 + i))"
        ) >"$dir/$i.log" 2>&1 &
        echo $! >"$dir/$i.outer"
    done
    for i in 0 1 2 3; do
        code=0
        wait "$(cat "$dir/$i.outer")" || code=$?
        [ "$code" = $((20 + i)) ] || fail "four-at-once: task $i's launcher exited $code: $(cat "$dir/$i.log")"
    done
    [ "$(cat "$dir"/ns.* | sort -u | wc -l)" = 1 ] ||
        fail "four-at-once: the tasks ran in $(cat "$dir"/ns.* | sort -u | wc -l) PID namespaces"
    log "four-at-once: four launchers started together: one container, exit codes 20-23"
}

scenario_orphans() {
    local scenario=orphans dir=$work/orphans init state
    start_pair "$scenario" user 912
    init=$(cat "$dir/init.pid")
    # (bash reports a SIGKILLed job on the shell's own stderr, as soon as it notices.)
    exec 3>&2 2>/dev/null
    setpriv --reuid="$test_uid" --regid="$test_gid" --clear-groups kill -KILL "$(cat "$dir/0.outer")" "$(cat "$dir/1.outer")"
    wait "$(cat "$dir/0.outer")" "$(cat "$dir/1.outer")" || true
    exec 2>&3 3>&-
    wait_until 10 "$scenario: the container to end with its launchers" bash -c "! kill -0 $init 2>/dev/null"
    # Left by the launchers, killed before they could remove them: a task file each, and the
    # manifest and root's mount point of the one that built the container.
    for state in "/run/lifeboat/containers/$(cat "$dir/0.outer")" "/run/lifeboat/containers/$(cat "$dir/1.outer")"; do
        [ -s "$state/task" ] || fail "$scenario: no task file in $state"
        rm -f "$state/task" "$state/manifest.json"
        [ ! -d "$state/root" ] || rmdir "$state/root"
        rmdir "$state"
    done
    log "$scenario: both launchers SIGKILLed: the container ended"
}

# scenario_migrate SCENARIO JOB "PROCID0 PROCID1" "PROCID0 PROCID1": JOB's tasks 0 and 1 on this node
# run as the first two ranks, are moved (dump, kill, restore), and the requeued job's launchers
# run them as the second two.
scenario_migrate() {
    local scenario=$1 job=$2 dir=$work/$1 init creator images=$work/$1/images restored at0 at1 dump_ext restore_ext i record
    local -a before after
    read -r -a before <<<"$3"
    read -r -a after <<<"$4"
    start_pair "$scenario" root "$job" "${before[@]}"
    init=$(cat "$dir/init.pid")
    check_shared "$scenario"
    creator=$(awk '/^PPid:/ { print $2 }' "/proc/$init/status")
    cp "/run/lifeboat/containers/$creator/manifest.json" "$dir/manifest.copy.json"
    python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); assert m["version"] == 4 and m["job"] == sys.argv[2] and m["tasks"] == "/.lifeboat/tasks", m' \
        "$dir/manifest.copy.json" "$job" || fail "$scenario: the manifest is not version 4 with job and tasks"
    mapfile -t dump_ext < <(externals "$scenario" dump)
    mapfile -t restore_ext < <(externals "$scenario" restore)
    mkdir -p "$images"
    criu_run "$images/dump.log" dump -t "$init" -D "$images" --leave-stopped --file-locks "${dump_ext[@]}" -o dump.log -v4
    at0=$(last_number "$dir/seq.0")
    at1=$(last_number "$dir/seq.1")
    log "$scenario: one dump of init $init took both tasks (at $at0 and $at1)"
    kill -KILL "$init"
    outer_exit_code() {
        local code=0
        wait "$(cat "$dir/$1.outer")" || code=$?
        [ "$code" = 137 ] || fail "$scenario: task $1's launcher exited $code after the tree was killed, expected 137"
    }
    outer_exit_code 0
    outer_exit_code 1
    make_root "$scenario" "$dir/target-root"
    criu_run "$images/restore.log" restore -D "$images" -d --root "$dir/target-root" --pidfile "$dir/restored.pid" \
        --file-locks "${restore_ext[@]}" -o restore.log -v4
    umount "$dir/target-root"
    restored=$(cat "$dir/restored.pid")
    wait_until 10 "$scenario: task 0 to count on" count_at_least "$dir/seq.0" $((at0 + 3))
    wait_until 10 "$scenario: task 1 to count on" count_at_least "$dir/seq.1" $((at1 + 3))
    check_sequence "$dir/seq.0"
    check_sequence "$dir/seq.1"
    [ "$(ls "/proc/$restored/root/.lifeboat/tasks/" | grep -c '^task-')" = 2 ] || fail "$scenario: the task records did not move"
    # Written by the first launchers, they name the ranks those had.
    for i in 0 1; do
        record=$(grep -lx "localid=$i" "/proc/$restored/root/.lifeboat/tasks/"task-*) && grep -qx "procid=${before[$i]}" "$record" ||
            fail "$scenario: the restored record of local id $i does not say procid=${before[$i]}"
    done
    log "$scenario: restored as init $restored, both tasks count on without a gap"
    # The requeued job's launchers, started again on this node, as the agent's resume marker
    # says: each must find and wait for its own task, and exit with its status.
    mkdir -p "$work/resume/node1"
    printf 'job=%s\nuid=0\ninit-pid=%s\ninit-start=%s\n' "$job" "$restored" \
        "$(sed 's/.*) //' "/proc/$restored/stat" | cut -d' ' -f20)" >"$work/resume/node1/$job"
    extra_options=(--resume-dir "$work/resume")
    start_task "$scenario" root "$job" 0 "${after[0]}"
    start_task "$scenario" root "$job" 1 "${after[1]}"
    extra_options=()
    wait_until 10 "$scenario: the requeued launchers to find their tasks" \
        bash -c "[ \$(cat $dir/0.log $dir/1.log | grep -c 'waiting for this launcher.s task') = 2 ]"
    for i in 0 1; do
        wait_until 5 "$scenario: requeued launcher $i's task file" grep -qx "init-pid=$restored" \
            "/run/lifeboat/containers/$(cat "$dir/$i.outer")/task"
    done
    echo 10 >"$dir/stop.0"
    outer_exit "$scenario" 0 10
    kill -0 "$(cat "$dir/1.outer")" || fail "$scenario: task 1's requeued launcher ended with task 0"
    echo 11 >"$dir/stop.1"
    outer_exit "$scenario" 1 11
    wait_until 10 "$scenario: the restored container to end" bash -c "! kill -0 $restored 2>/dev/null"
    log "$scenario: the requeued job's launchers (ranks ${after[*]}) each waited for their own task (ranks ${before[*]} before) and exited 10 and 11"
}

log "CRIU $("$CRIU" --version | awk '/^Version/ { print $2 }'), user $TEST_USER, work directory $work"
scenario_share root 910
scenario_share user 911
scenario_four_at_once
scenario_orphans
scenario_migrate migrate 913 "0 1" "0 1"
scenario_migrate migrate-renumbered 915 "2 3" "0 1"
echo "6 passed, 0 failed"
