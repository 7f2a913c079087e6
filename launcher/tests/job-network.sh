#!/usr/bin/env bash
# --network=job (issue 25): a task of a Slurm job joins the network namespace the agent made for
# that job on the node, /run/netns/lifeboat-job-JOB-NODE, as an ordinary user (TEST_USER, lbalice
# by default) through a setuid-root copy of lifeboat-run; it gets that namespace and no other.
# Jobs are faked as in shared-container.sh: a cgroup shaped as Slurm's (job_ID/step_0 below a
# slurmstepd.scope) and SLURM_JOB_ID, SLURMD_NODENAME set. Root makes each job's namespace here
# as the agent would, with lo up and an interface with the job's address (a veth pair whose two
# ends stay inside; the agent's is a macvlan on the node's uplink).
#
#   view            job 940's task sees its namespace's interface and address (ip -o addr), and
#                   is in that namespace (its inode); /sys/class/net lists its interfaces (what
#                   UCX looks for); the manifest (version 4) says network "netns" and netns the
#                   namespace's path.
#   joined          a second task of job 940 with the same options joins the first one's container:
#                   the same PID and network namespaces.
#   missing         job 941 has no namespace: 125 and the message that says what to do.
# The user's attacks, each refused (125, a message, the command not run):
#   forged-job      in job 940's cgroup, SLURM_JOB_ID=942, whose namespace exists;
#   outside-job     in no job's cgroup, SLURM_JOB_ID=942;
#   node-traversal  SLURMD_NODENAME=dir/../lifeboat-job-942-NODE, with a directory root made at
#                   /run/netns/lifeboat-job-940-dir, and other names that are no node's (the
#                   resume marker lookup, which comes first, refuses '/' and a leading '.' in
#                   SLURMD_NODENAME as well: it takes both checks away for the attack to pass);
#   not-a-netns     a regular file and a UTS namespace at the job's name: "not a network
#                   namespace", said before any container is built;
#   writable-dir    /run/netns writable by others (for the moment of the attempt);
#   pmix            srun's PMIx server on the node's network (PMIX_SERVER_URI41);
#   with-netns      --network=job with --netns, as root (for a user --netns is refused anyway).
#   resume          as root (CRIU cannot dump another user's tree where root lacks
#                   CAP_SYS_RESOURCE): job 945's container is dumped inside its namespace, the
#                   tree killed, the namespace rebuilt under the same name (as a target's agent
#                   does: named after the source node), the tree restored into it; the requeued
#                   job's launcher, with the same options, a resume marker and SLURMD_NODENAME now
#                   naming a node that has no namespace of the job, waits for its task and exits
#                   with its status.
#
#   launcher/tests/job-network.sh        (as root; CRIU >= 4.2 from testbed/criu.sh, or $CRIU; ~10 s)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
launcher_dir=$(dirname "$here")
repo_dir=$(dirname "$launcher_dir")
TEST_USER=${TEST_USER:-lbalice}

log() { printf 'job-network: %s\n' "$*" >&2; }
fail() {
    printf 'job-network: FAILED: %s\n' "$*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || fail "must run as root (setuid launcher, cgroups, namespaces, CRIU)"
CRIU=${CRIU:-$("$repo_dir/testbed/criu.sh")}
make -s -C "$launcher_dir" lifeboat-run
test_uid=$(id -u "$TEST_USER")
test_gid=$(id -g "$TEST_USER")
JOBS=(940 941 942 943 944 945)
NODE=lbjn$$            # this node's Slurm name in the tests
OTHER_NODE=lbjnother$$ # the requeued job's node: no namespace of the job bears its name
NETNS_DIR=/run/netns

work=$(mktemp -d /tmp/lifeboat-job-network.XXXXXX)
chmod 755 "$work"
install -m 4755 "$launcher_dir/lifeboat-run" "$work/lifeboat-run"
mkdir "$work/job"
chown "$test_uid:$test_gid" "$work/job"
job_cgroups lifeboat-job-network
created=()        # what cleanup removes from $NETNS_DIR: only what this run made
netns_dir_mode=   # set while the writable-dir attack has changed $NETNS_DIR's mode

cleanup() {
    local status=$? path job
    [ -z "$netns_dir_mode" ] || chmod "$netns_dir_mode" "$NETNS_DIR"
    kill_containers
    for pid in $(jobs -p); do kill -TERM "$pid" 2>/dev/null || true; done
    end_jobs
    remove_job_cgroups
    unmount_work
    # A namespace's name and the UTS namespace are bind mounts on files; the fixture directory not.
    for path in "${created[@]}"; do
        umount "$path" 2>/dev/null || true
        if [ -d "$path" ]; then rmdir "$path"; else rm -f "$path"; fi
    done
    for job in "${JOBS[@]}"; do rm -f "/run/lifeboat/jobs/$job-$test_uid"* "/run/lifeboat/jobs/$job-0"*; done
    rm -rf "$work"
    exit $status
}
trap cleanup EXIT

# job_netns JOB NODE: what the agent makes for JOB on NODE: the named namespace, lo up, an
# interface with the address 10.243.0.(JOB - 900)/24.
job_netns() {
    local name=lifeboat-job-$1-$2
    [ ! -e "$NETNS_DIR/$name" ] || fail "$NETNS_DIR/$name exists already"
    ip netns add "$name"
    created+=("$NETNS_DIR/$name")
    ip -n "$name" link set lo up
    ip -n "$name" link add lbjob0 type veth peer name lbjob1
    ip -n "$name" addr add "$(job_address "$1")/24" dev lbjob0
    ip -n "$name" link set lbjob0 up
}
job_address() { echo "10.243.0.$(($1 - 900))"; }
netns_inode() { stat -L -c %i "$NETNS_DIR/lifeboat-job-$1-$2"; }

# launch AS JOB PROCID NODE OUTPUT [OPTIONS...] -- COMMAND...: lifeboat-run --network=job as task
# PROCID of JOB's step 0 (in its cgroup; in none if JOB is "-", then SLURM_JOB_ID is $claimed_job),
# as "user" or "root", in $work/job; COMMAND's stdout to OUTPUT, the launcher's stderr to
# OUTPUT.log. Started in the background: its pid (the launcher's) in $started.
claimed_job=
launch() {
    local as=$1 job=$2 procid=$3 node=$4 output=$5 launcher=$launcher_dir/lifeboat-run prefix=()
    shift 5
    if [ "$as" = user ]; then
        launcher=$work/lifeboat-run
        prefix=(setpriv --reuid="$test_uid" --regid="$test_gid" --clear-groups)
    fi
    (
        [ "$job" = - ] || enter_cgroup "job_$job/step_0"
        cd "$work/job"
        export SLURM_JOB_ID=${claimed_job:-$job} SLURM_STEP_ID=0 SLURM_PROCID=$procid SLURM_LOCALID=$procid
        export SLURMD_NODENAME=$node
        exec "${prefix[@]}" "$launcher" --network=job --stdout "$output" "$@"
    ) 2>"$work/job/$output.log" &
    started=$!
}

# finish PID WHAT CODE: the launcher PID exits CODE.
finish() {
    local code=0
    wait "$1" || code=$?
    [ "$code" = "$3" ] || fail "$2: the launcher exited $code, expected $3: $(cat "$work/job/$2.out.log" 2>/dev/null)"
}

scenario_view_and_joined() {
    local first second manifest=$work/view/manifest.copy.json inode
    mkdir -p "$work/view"
    rm -f "$work/job/go"
    launch user 940 0 "$NODE" view.out -- sh -c \
        'readlink /proc/self/ns/net /proc/self/ns/pid; ip -o addr show; echo class-net: $(ls /sys/class/net)
         while [ ! -e go ]; do sleep 0.05; done'
    first=$started
    wait_until 10 "the first task's manifest" test -s "/run/lifeboat/containers/$first/manifest.json"
    cp "/run/lifeboat/containers/$first/manifest.json" "$manifest"
    launch user 940 1 "$NODE" joined.out -- sh -c 'readlink /proc/self/ns/net /proc/self/ns/pid'
    second=$started
    finish "$second" joined 0
    touch "$work/job/go"
    finish "$first" view 0
    inode=$(netns_inode 940 "$NODE")
    [ "$(sed -n 1p "$work/job/view.out")" = "net:[$inode]" ] ||
        fail "view: the task is in $(sed -n 1p "$work/job/view.out"), not in the job's namespace (net:[$inode])"
    grep -q "lbjob0 *inet $(job_address 940)/24" "$work/job/view.out" ||
        fail "view: the task does not see the job's interface and address: $(cat "$work/job/view.out")"
    grep -q "$(job_address 942)" "$work/job/view.out" && fail "view: the task sees job 942's address"
    grep -qx "class-net: lbjob0 lbjob1 lo" "$work/job/view.out" ||
        fail "view: /sys/class/net does not list the namespace's interfaces: $(grep class-net "$work/job/view.out")"
    "$PY" - "$manifest" "$NETNS_DIR/lifeboat-job-940-$NODE" <<'PY' || fail "view: the manifest"
import json, sys
manifest = json.load(open(sys.argv[1]))
assert manifest["version"] == 4, manifest["version"]
assert manifest["network"] == "netns" and manifest["netns"] == sys.argv[2], (manifest["network"], manifest["netns"])
assert manifest["job"] == "940", manifest["job"]
PY
    log "view: the task is in $NETNS_DIR/lifeboat-job-940-$NODE, sees lbjob0 with $(job_address 940); manifest network netns"
    [ "$(head -n 2 "$work/job/joined.out")" = "$(head -n 2 "$work/job/view.out")" ] ||
        fail "joined: the second task is in $(tr '\n' ' ' <"$work/job/joined.out"), the first in $(head -n 2 "$work/job/view.out" | tr '\n' ' ')"
    log "joined: the second task with --network=job joined the first's container and namespace"
}

scenario_missing() {
    launch user 941 0 "$NODE" missing.out -- true
    finish "$started" missing 125
    grep -q "job 941 has no network of its own on $NODE ($NETNS_DIR/lifeboat-job-941-$NODE): submit it with --migratable=net" \
        "$work/job/missing.out.log" || fail "missing: the message does not say why: $(cat "$work/job/missing.out.log")"
    log "missing: $(cat "$work/job/missing.out.log")"
}

# refused WHAT PATTERN AS JOB NODE [OPTIONS...]: the launcher (see launch) must exit 125 with a
# message matching PATTERN, and run nothing.
refused() {
    local what=$1 pattern=$2 code=0 output
    shift 2
    rm -f "$work/job/ran"
    # One output file per caller: root's would not be the user's to append to.
    launch "$1" "$2" 0 "$3" "attack-$1.out" "${@:4}" -- touch "$work/job/ran"
    wait "$started" || code=$?
    output=$(cat "$work/job/attack-$1.out.log")
    if [ "$code" != 125 ] || [ -e "$work/job/ran" ] || ! grep -q "^lifeboat-run: .*$pattern" <<<"$output"; then
        fail "$what: exit code $code (expected 125 and a message matching '$pattern'), ran: $([ -e "$work/job/ran" ] && echo yes || echo no): $output"
    fi
    log "$what: refused: $output"
}

scenario_attacks() {
    local name

    claimed_job=942
    refused "forged-job: job 940's task claiming job 942" "not in job 942's cgroup" user 940 "$NODE"
    refused "outside-job: no job's task claiming job 942" "not in job 942's cgroup" user - "$NODE"
    claimed_job=

    mkdir "$NETNS_DIR/lifeboat-job-940-dir"
    created+=("$NETNS_DIR/lifeboat-job-940-dir")
    for name in "dir/../lifeboat-job-942-$NODE" "../netns/lifeboat-job-942-$NODE" "/$NODE" ".." ".$NODE" "-$NODE"; do
        refused "node-traversal: SLURMD_NODENAME=$name" "SLURMD_NODENAME is" user 940 "$name"
    done

    name=$NETNS_DIR/lifeboat-job-943-$NODE
    echo "not a namespace" >"$name"
    created+=("$name")
    refused "not-a-netns: a regular file at the job's name" "$name is not a network namespace" user 943 "$NODE"
    name=$NETNS_DIR/lifeboat-job-944-$NODE
    touch "$name"
    created+=("$name")
    mount --bind /proc/self/ns/uts "$name"
    refused "not-a-netns: a UTS namespace at the job's name" "$name is not a network namespace" user 944 "$NODE"

    netns_dir_mode=$(stat -c %a "$NETNS_DIR")
    chmod o+w "$NETNS_DIR"
    refused "writable-dir: $NETNS_DIR writable by others" "$NETNS_DIR is not a directory only root can write" user 940 "$NODE"
    chmod "$netns_dir_mode" "$NETNS_DIR"
    netns_dir_mode=

    PMIX_SERVER_URI41="pmix-server.1;tcp4://127.0.0.1:40000" \
        refused "pmix: srun's PMIx server on the node's network" "PMIx server" user 940 "$NODE"
    refused "with-netns: --network=job --netns" "not with --netns" root 940 "$NODE" --netns "$NETNS_DIR/lifeboat-job-942-$NODE"
}

scenario_resume() {
    local dir=$work/resume name=lifeboat-job-945-$NODE launcher init images=$work/resume/images restored code=0
    local dump_ext restore_ext
    mkdir -p "$dir" "$work/resume-dir/$OTHER_NODE"
    job_netns 945 "$NODE"
    rm -f "$work/job/stop" "$work/job/status"
    launch root 945 0 "$NODE" resume.out --exit-status-file status -- sh -c \
        'readlink /proc/self/ns/net; while [ ! -e stop ]; do sleep 0.05; done; exit 7'
    launcher=$started
    wait_until 10 "job 945's manifest" test -s "/run/lifeboat/containers/$launcher/manifest.json"
    cp "/run/lifeboat/containers/$launcher/manifest.json" "$dir/manifest.copy.json"
    init=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["init-pid"])' "$dir/manifest.copy.json")
    echo "$init" >"$dir/init.pid"
    mapfile -t dump_ext < <(externals resume dump)
    mapfile -t restore_ext < <(externals resume restore)
    # As the agent does: CRIU inside the job's namespace on both sides; the name goes on the source
    # (the frozen tree holds the namespace) and is made again on the target, the source node's name.
    mkdir -p "$images"
    criu_prefix=(nsenter --net="$NETNS_DIR/$name")
    criu_run "$images/dump.log" dump -t "$init" -D "$images" --leave-stopped --file-locks "${dump_ext[@]}" -o dump.log -v4
    ip netns delete "$name"
    kill -KILL "$init"
    finish "$launcher" resume 137
    job_netns 945 "$NODE"
    make_root resume "$dir/target-root"
    criu_run "$images/restore.log" restore -D "$images" -d --root "$dir/target-root" --pidfile "$dir/restored.pid" \
        --file-locks "${restore_ext[@]}" -o restore.log -v4
    criu_prefix=()
    umount "$dir/target-root"
    restored=$(cat "$dir/restored.pid")
    [ "$(readlink "/proc/$restored/ns/net")" = "net:[$(netns_inode 945 "$NODE")]" ] ||
        fail "resume: the restored init is not in the rebuilt $name"
    printf 'job=945\nuid=0\ninit-pid=%s\ninit-start=%s\n' "$restored" \
        "$(sed 's/.*) //' "/proc/$restored/stat" | cut -d' ' -f20)" >"$work/resume-dir/$OTHER_NODE/945"
    [ ! -e "$NETNS_DIR/lifeboat-job-945-$OTHER_NODE" ] || fail "resume: $OTHER_NODE has a namespace of job 945"
    launch root 945 0 "$OTHER_NODE" resume.out --exit-status-file status --resume-dir "$work/resume-dir" -- \
        sh -c 'exit 99'
    launcher=$started
    wait_until 10 "the requeued launcher to find its task" grep -q "waiting for this launcher's task" "$work/job/resume.out.log"
    touch "$work/job/stop"
    finish "$launcher" resume 7
    wait_until 10 "the restored container to end" bash -c "! kill -0 $restored 2>/dev/null"
    log "resume: restored into the rebuilt $name; the requeued launcher on $OTHER_NODE waited for its task (exit 7)"
}

log "user $TEST_USER, node $NODE, CRIU $("$CRIU" --version | awk '/^Version/ { print $2 }'), work directory $work"
job_netns 940 "$NODE"
job_netns 942 "$NODE"
scenario_view_and_joined
scenario_missing
scenario_attacks
scenario_resume
echo "4 scenarios passed, 0 failed"
