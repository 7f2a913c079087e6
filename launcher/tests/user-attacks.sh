#!/usr/bin/env bash
# What an ordinary user tried against the setuid launcher (issue 22, section 3), each written as
# the attack, run as TEST_USER (nobody by default) through a setuid-root copy of lifeboat-run:
#
#   apptainer-signal   --apptainer-instance with the user's own "apptainer" that lists a pid of
#                      root's: SIGTERM to the launcher must not reach that process (the launcher
#                      drops to the user for good and checks the pid is the user's); and one that
#                      lists a pid of the user's in another job's cgroup (SLURM_JOB_ID set, job
#                      cgroups made here in the unified hierarchy) must be refused as well. The
#                      user's own instance in the job's cgroup still gets the signal.
#   bind-submounts     --bind of a directory whose subdirectory is a mount point shows what the
#                      mount hides: refused with 125.
#   bind-host-trees    --bind of /proc, /dev, /sys, of the CPU topology the container gets (it
#                      lies in /sys), of a symlink to /proc, and --chdir /sys give a view of the
#                      host: refused with 125; so is a --bind onto /sys in the container.
#   network-options    --network=loopback with --netns (root's only anyway), an unknown mode, the
#                      mode "netns", --network twice, and --network=loopback where srun's PMIx
#                      server (PMIX_SERVER_URI*) is on the node's network: refused with 125.
#   orphaned-init      the user SIGKILLs the outer launcher: the container must die with it.
#   environment        LD_LIBRARY_PATH and TMPDIR (removed by the C library at a setuid start)
#                      reach the job's command, and the Apptainer command.
#   join-other-user    root's container of job 777 runs; the user's launcher in job 777's cgroup
#                      with SLURM_JOB_ID=777 must get a container of its own, not join root's.
#   join-other-job     the user's container of job 780 runs; the user's launcher in job 781's
#                      cgroup claiming SLURM_JOB_ID=780 must not join it.
#   forged-record      the job's record names a process that is not the user's container init
#                      (as after a pid reuse): root's process in the job's cgroup, the user's own
#                      process in another job's cgroup. The launcher must not enter its namespaces.
#
#   launcher/tests/user-attacks.sh        (as root; about 20 s)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
launcher_dir=$(dirname "$here")
TEST_USER=${TEST_USER:-nobody}

log() { printf 'user-attacks: %s\n' "$*" >&2; }
fail() {
    printf 'user-attacks: FAILED: %s\n' "$*" >&2
    failures=$((failures + 1))
}
failures=0

[ "$(id -u)" -eq 0 ] || { log "must run as root (setuid launcher, mounts)"; exit 1; }
make -s -C "$launcher_dir" lifeboat-run
test_uid=$(id -u "$TEST_USER")
test_gid=$(id -g "$TEST_USER")

work=$(mktemp -d /tmp/lifeboat-attacks.XXXXXX)
chmod 755 "$work"
install -m 4755 "$launcher_dir/lifeboat-run" "$work/lifeboat-run"
mkdir "$work/job"
chown "$test_uid:$test_gid" "$work/job"
cgroup_root=/sys/fs/cgroup
[ -f "$cgroup_root/cgroup.procs" ] || cgroup_root=/sys/fs/cgroup/unified
cgroups=$cgroup_root/lifeboat-attacks.$$
# Jobs' cgroups at the place Slurm's cgroup/v2 gives them (SLICE/slurmstepd.scope/job_ID): on a
# cgroup v2 host the launcher takes a job's cgroup only there (src/cgroup.c); v1 takes any.
slurm_scope=$cgroups/slurmstepd.scope

cleanup() {
    local status=$? pid
    for pid in $(jobs -p); do kill -KILL "$pid" 2>/dev/null || true; done
    pkill -KILL -U "$test_uid" -f "$work/" 2>/dev/null || true
    if [ -d "$cgroups" ]; then
        find "$cgroups" -name cgroup.procs -exec cat {} + | xargs -r kill -KILL 2>/dev/null || true
        sleep 0.2
    fi
    grep -o " $work/[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    # The jobs' records (a launcher killed with SIGKILL leaves its record, stale but harmless).
    rm -f /run/lifeboat/jobs/{777,778,779,780,781}-{0,"$test_uid"}*
    if [ -d "$cgroups" ]; then
        find "$cgroups" -depth -type d -exec rmdir {} + 2>/dev/null || true
    fi
    rm -rf "$work"
    exit $status
}
trap cleanup EXIT

# as_user COMMAND...: runs COMMAND as TEST_USER with no supplementary groups, in the job directory.
as_user() { (cd "$work/job" && exec setpriv --reuid="$test_uid" --regid="$test_gid" --clear-groups "$@"); }

# start_as_user LOG [CGROUP] -- COMMAND...: starts COMMAND as the user in the background (in
# CGROUP, made below $slurm_scope, when given), output to LOG; its pid in $started.
start_as_user() {
    local log=$1 cgroup=
    shift
    [ "$1" = -- ] || { cgroup=$1; shift; }
    shift
    (
        if [ -n "$cgroup" ]; then
            mkdir -p "$slurm_scope/$cgroup"
            echo "$BASHPID" >"$slurm_scope/$cgroup/cgroup.procs"
        fi
        cd "$work/job"
        exec setpriv --reuid="$test_uid" --regid="$test_gid" --clear-groups "$@"
    ) >"$log" 2>&1 &
    started=$!
}

# refused WHAT OPTIONS...: the launcher, run by the user, must exit 125 with a message and run nothing.
refused() {
    local what=$1 code=0 output
    shift
    rm -f "$work/job/ran"
    output=$(as_user "$work/lifeboat-run" "$@" -- touch "$work/job/ran" 2>&1) || code=$?
    if [ "$code" != 125 ] || [ -e "$work/job/ran" ] || ! grep -q '^lifeboat-run: ' <<<"$output"; then
        fail "$what: exit code $code (expected 125 and a message): $output"
        return
    fi
    log "$what: refused: $output"
}

alive() { kill -0 "$1" 2>/dev/null; }

# wait_gone PID SECONDS: whether PID ended within SECONDS.
wait_gone() {
    local deadline=$((SECONDS + $2))
    while alive "$1"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}

# The user's "apptainer": `instance start` does what $work/start.sh says; `instance list --json
# NAME` lists the pid in $work/job/listed.pid, as if it were the instance's.
fake_apptainer() {
    cat >"$work/apptainer" <<EOF
#!/bin/sh
env >"$work/job/apptainer-env.\$2"
case "\$2" in
start) exec sh "$work/start.sh" ;;
list) printf '{\n\t"instances": [\n\t\t{\n\t\t\t"instance": "job1",\n\t\t\t"pid": %s\n\t\t}\n\t]\n}\n' "\$(cat "$work/job/listed.pid")" ;;
esac
EOF
    chmod 755 "$work/apptainer"
}

# instance_launcher LOG [ENV...]: the user's launcher in job 777's batch step cgroup, starting
# instance job1 with the fake apptainer; its pid in $launcher.
instance_launcher() {
    local log=$1
    shift
    start_as_user "$log" job_777/step_batch -- env SLURM_JOB_ID=777 "$@" "$work/lifeboat-run" \
        --apptainer-instance job1 -- "$work/apptainer" instance start job1
    launcher=$started
}

# signal_not_forwarded WHAT VICTIM: the user's launcher, whose "apptainer" lists VICTIM as the
# instance, gets SIGTERM: VICTIM must survive, and the launcher must exit 125 without waiting.
signal_not_forwarded() {
    local what=$1 victim=$2 code=0
    echo "$victim" >"$work/job/listed.pid"
    instance_launcher "$work/apptainer.log"
    sleep 1
    kill -TERM "$launcher" 2>/dev/null || true
    sleep 0.5
    if ! alive "$victim"; then
        fail "apptainer-signal: the user's launcher killed $what $victim"
        return
    fi
    wait_gone "$launcher" 5 || { kill -KILL "$launcher"; fail "apptainer-signal: the launcher waits for $what"; }
    wait "$launcher" || code=$?
    [ "$code" = 125 ] || fail "apptainer-signal: $what: exit code $code, expected 125"
    log "apptainer-signal: $what refused: $(cat "$work/apptainer.log")"
}

scenario_apptainer_signal() {
    local launcher code
    fake_apptainer
    echo ':' >"$work/start.sh"

    sleep 1000 &
    signal_not_forwarded "root's process" $!
    kill -KILL $! 2>/dev/null || true
    wait $! 2>/dev/null || true

    start_as_user /dev/null job_778/step_batch -- sleep 1000
    signal_not_forwarded "the user's process in another job's cgroup" "$started"
    kill -KILL "$started" 2>/dev/null || true
    wait "$started" 2>/dev/null || true

    # The user's own instance, in the job: it gets the signal and the launcher exits 0.
    rm -f "$work/job/listed.pid"
    echo "setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo \$! >$work/job/listed.pid" >"$work/start.sh"
    instance_launcher "$work/apptainer-own.log" LD_LIBRARY_PATH=/opt/modules/lib
    sleep 1
    kill -TERM "$launcher" 2>/dev/null || true
    code=0
    wait_gone "$launcher" 5 || { kill -KILL "$launcher"; fail "apptainer-signal: the user's own instance did not get SIGTERM"; }
    wait "$launcher" || code=$?
    [ "$code" = 0 ] || fail "apptainer-signal: the user's own instance: exit code $code: $(cat "$work/apptainer-own.log")"
    grep -qx 'LD_LIBRARY_PATH=/opt/modules/lib' "$work/job/apptainer-env.start" ||
        fail "environment: the Apptainer command did not get LD_LIBRARY_PATH"
}

scenario_bind_submounts() {
    mkdir -p "$work/tree/sub"
    echo "under the mount" >"$work/tree/sub/hidden"
    chmod 644 "$work/tree/sub/hidden"
    mount -t tmpfs -o mode=755 covering "$work/tree/sub"
    as_user "$work/lifeboat-run" --bind "$work/tree:/data" --stdout "$work/job/leak.out" -- cat /data/sub/hidden \
        2>/dev/null || true
    if grep -q "under the mount" "$work/job/leak.out" 2>/dev/null; then
        fail "bind-submounts: the container showed what the mount on $work/tree/sub hides"
    fi
    refused "bind-submounts: --bind of a directory with a mount below it" --bind "$work/tree:/data"
    refused "bind-submounts: --chdir of a directory with a mount below it" --chdir "$work/tree"
}

scenario_bind_host_trees() {
    ln -s /proc "$work/job/proc-link"
    refused "bind-host-trees: --bind /proc" --bind /proc:/host-proc
    refused "bind-host-trees: --bind /dev" --bind /dev:/host-dev
    refused "bind-host-trees: --bind /dev/shm" --bind /dev/shm:/host-shm
    refused "bind-host-trees: --bind /sys" --bind /sys:/host-sys
    refused "bind-host-trees: --bind a symlink to /proc" --bind "$work/job/proc-link:/host-proc"
    refused "bind-host-trees: --chdir /sys" --chdir /sys
    refused "bind-host-trees: --bind the CPU topology" --bind /sys/devices/system/cpu:/cpu
    refused "bind-host-trees: --bind onto the container's CPU topology" --bind "$work/job:/sys/devices/system/cpu"
    refused "bind-host-trees: --bind into the container's /sys" --bind "$work/job:/sys/class"
}

scenario_network_options() {
    refused "network-options: --network=loopback with --netns" --network=loopback --netns /proc/self/ns/net
    refused "network-options: an unknown --network" --network=garbage
    refused "network-options: --network=netns" --network=netns
    refused "network-options: --network twice" --network=loopback --network=node
    PMIX_SERVER_URI41="pmix-server.1;tcp4://127.0.0.1:40000" \
        refused "network-options: --network=loopback with srun's PMIx server on the node's network" --network=loopback
}

scenario_orphaned_init() {
    local launcher init=
    start_as_user "$work/orphan.log" -- "$work/lifeboat-run" -- sleep 1000
    launcher=$started
    for _ in $(seq 50); do
        # Its children are the init and its task's watcher.
        init=$(pgrep -P "$launcher" -f '^lifeboat-init ' || true)
        [ -z "$init" ] || break
        sleep 0.1
    done
    [ -n "$init" ] || { fail "orphaned-init: no container init started"; return; }
    sleep 0.5
    # The user may signal their own setuid process: its real uid is theirs.
    as_user kill -KILL "$launcher"
    wait "$launcher" 2>/dev/null || true
    if ! wait_gone "$init" 5; then
        fail "orphaned-init: the container init $init outlived its SIGKILLed launcher (PPID $(awk '/^PPid/ {print $2}' "/proc/$init/status"))"
        kill -KILL "$init"
    else
        log "orphaned-init: the container ended with its launcher"
    fi
    # The killed launcher could not remove its state directory.
    rm -f "/run/lifeboat/containers/$launcher/manifest.json" "/run/lifeboat/containers/$launcher/task"
    rmdir "/run/lifeboat/containers/$launcher/root" "/run/lifeboat/containers/$launcher" 2>/dev/null || true
}

scenario_environment() {
    local code=0
    as_user env LD_LIBRARY_PATH=/opt/modules/lib TMPDIR=/tmp/mine "$work/lifeboat-run" --stdout "$work/job/env.out" \
        -- sh -c 'echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH TMPDIR=$TMPDIR"' || code=$?
    [ "$code" = 0 ] || fail "environment: exit code $code"
    if ! grep -qx 'LD_LIBRARY_PATH=/opt/modules/lib TMPDIR=/tmp/mine' "$work/job/env.out" 2>/dev/null; then
        fail "environment: the job saw '$(cat "$work/job/env.out" 2>/dev/null)', not the user's LD_LIBRARY_PATH and TMPDIR"
    else
        log "environment: the job saw the user's LD_LIBRARY_PATH and TMPDIR"
    fi
}

# job_launcher LOG CGROUP JOB AS OUTPUT -- COMMAND...: a launcher as in a Slurm job (SLURM_JOB_ID=JOB,
# in CGROUP below $slurm_scope), as root or the user, COMMAND's stdout to OUTPUT; its pid in $started.
job_launcher() {
    local log=$1 cgroup=$2 job=$3 as=$4 output=$5
    shift 6
    if [ "$as" = root ]; then
        (
            mkdir -p "$slurm_scope/$cgroup"
            echo "$BASHPID" >"$slurm_scope/$cgroup/cgroup.procs"
            cd "$work/job"
            SLURM_JOB_ID=$job exec "$launcher_dir/lifeboat-run" --stdout "$output" -- "$@"
        ) >"$log" 2>&1 &
        started=$!
    else
        start_as_user "$log" "$cgroup" -- env SLURM_JOB_ID="$job" "$work/lifeboat-run" --stdout "$output" -- "$@"
    fi
}

# The PID namespace of the container init named in the job's record $1; empty if none.
recorded_namespace() {
    local pid
    pid=$(sed -n 's/^init-pid=//p' "$1" 2>/dev/null)
    [ -n "$pid" ] && readlink "/proc/$pid/ns/pid"
}

# own_container WHAT LAUNCHER OUTPUT VICTIM_NS: the user's launcher ran its task (exit 0) in a PID
# namespace that is neither VICTIM_NS nor the host's.
own_container() {
    local what=$1 launcher=$2 output=$3 victim=$4 code=0 seen
    wait "$launcher" || code=$?
    seen=$(cat "$work/job/$output" 2>/dev/null || true)
    if [ "$code" != 0 ] || [ -z "$seen" ] || [ "$seen" = "$victim" ] || [ "$seen" = "$(readlink /proc/self/ns/pid)" ]; then
        fail "$what: the user's task ran in $seen (exit code $code; the other container is in $victim): $(cat "$work/$output.log")"
        return
    fi
    log "$what: the user's task got a container of its own"
}

scenario_join_other_user() {
    local root_launcher victim
    job_launcher "$work/root-job.log" job_777/step_0 777 root root.out -- sleep 1000
    root_launcher=$started
    for _ in $(seq 50); do victim=$(recorded_namespace /run/lifeboat/jobs/777-0 || true); [ -z "$victim" ] || break; sleep 0.1; done
    [ -n "$victim" ] || { fail "join-other-user: root's container did not start"; return; }
    rm -f "$work/job/user.out"
    job_launcher "$work/user.out.log" job_777/step_1 777 user user.out -- readlink /proc/self/ns/pid
    own_container join-other-user "$started" user.out "$victim"
    kill -TERM "$root_launcher"
    wait "$root_launcher" 2>/dev/null || true
}

scenario_join_other_job() {
    local own victim
    job_launcher "$work/job780.log" job_780/step_0 780 user job780.out -- sleep 1000
    own=$started
    for _ in $(seq 50); do victim=$(recorded_namespace "/run/lifeboat/jobs/780-$test_uid" || true); [ -z "$victim" ] || break; sleep 0.1; done
    [ -n "$victim" ] || { fail "join-other-job: the user's container of job 780 did not start"; return; }
    job_launcher "$work/job781.out.log" job_781/step_0 780 user job781.out -- readlink /proc/self/ns/pid
    own_container join-other-job "$started" job781.out "$victim"
    as_user kill -TERM "$own"
    wait "$own" 2>/dev/null || true
}

# forge_record JOB VICTIM: the job's record names VICTIM, with its real start time and the
# fingerprint the user's options give (read from a record of the user's own first).
forge_record() {
    local job=$1 victim=$2 record=/run/lifeboat/jobs/$1-$test_uid print start
    print=$(sed -n 's/^fingerprint=//p' "$work/fingerprint")
    start=$(sed 's/.*) //' "/proc/$victim/stat" | cut -d' ' -f20)
    printf 'init-pid=%s\ninit-start=%s\nfingerprint=%s\n' "$victim" "$start" "$print" >"$record"
}

scenario_forged_record() {
    local launcher victim
    # The user's own record, for the fingerprint of these options.
    job_launcher "$work/forged.log" job_778/step_0 778 user forged.out -- sleep 2
    launcher=$started
    for _ in $(seq 50); do [ -s "/run/lifeboat/jobs/778-$test_uid" ] && break; sleep 0.1; done
    cp "/run/lifeboat/jobs/778-$test_uid" "$work/fingerprint"
    wait "$launcher" || true

    mkdir -p "$slurm_scope/job_778/step_9"
    (echo "$BASHPID" >"$slurm_scope/job_778/step_9/cgroup.procs"; exec sleep 1000) &
    victim=$!
    sleep 0.2
    forge_record 778 "$victim"
    rm -f "$work/job/forged.out"
    job_launcher "$work/forged.out.log" job_778/step_1 778 user forged.out -- readlink /proc/self/ns/pid
    own_container "forged-record: root's process in the job's cgroup" "$started" forged.out "$(readlink /proc/$victim/ns/pid)"
    kill -KILL "$victim"

    start_as_user /dev/null job_779/step_0 -- sleep 1000
    victim=$started
    sleep 0.2
    forge_record 778 "$victim"
    rm -f "$work/job/forged.out"
    job_launcher "$work/forged.out.log" job_778/step_1 778 user forged.out -- readlink /proc/self/ns/pid
    own_container "forged-record: the user's process in another job's cgroup" "$started" forged.out "$(readlink /proc/$victim/ns/pid)"
    kill -KILL "$victim"
}

for scenario in apptainer_signal bind_submounts bind_host_trees network_options orphaned_init environment \
    join_other_user join_other_job forged_record; do
    log "--- ${scenario//_/-}"
    "scenario_$scenario"
done
if [ "$failures" -ne 0 ]; then
    log "$failures FAILED"
    exit 1
fi
log "all passed"
