#!/usr/bin/env bash
# The Lifeboat testbed: a real Slurm cluster of four nodes on one machine (three in the default partition).
#
#   cluster.sh up       bring everything up (idempotent: what runs already is kept)
#   cluster.sh down     stop everything and remove every trace (processes, mounts, namespaces, files)
#   cluster.sh status   show what runs; exits 0 only when the whole cluster is up
#   cluster.sh reset    cancel every job and return every node to idle (clean state between test classes)
#   cluster.sh storage local            the agents' shared directories on this machine's disk (the default)
#   cluster.sh storage network RATE     ... mounted with sshfs from a file server behind a link shaped to
#                                       RATE (tc units, e.g. 800mbit = 100 MB/s) both ways
#
# Layout: munged and slurmctld run in the host's network namespace on the bridge address
# $CONTROLLER_ADDRESS; each node N has a network namespace lb-nodeN with address $SUBNET_PREFIX.N on
# the bridge, runs `slurmd -N nodeN` and one Lifeboat agent there, and has its own tmpfs
# checkpoint directory. Slurm commands need SLURM_CONF=$TESTBED_RUN/etc/slurm.conf.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

AGENT_JAR=$REPO_DIR/agent/target/lifeboat-agent.jar
SPANK_PLUGIN=$REPO_DIR/slurm-hooks/lifeboat.so
# What users' jobs and commands use, copied where users can reach it (see publish_for_users).
USER_BIN=$TESTBED_RUN/bin
USER_SPANK_PLUGIN=$TESTBED_RUN/lib/lifeboat.so
USER_AGENT_DIR=$TESTBED_RUN/lib/agent
USER_APPTAINER_DIR=$TESTBED_RUN/lib/apptainer

# A zombie (killed, not yet reaped) or a process still dying counts as gone.
pid_alive() {
    local pid state
    [ -f "$1" ] || return 1
    pid=$(cat "$1")
    state=$(awk '{sub(/.*\) /, ""); print $1}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# --- network ------------------------------------------------------------------------------
network_up() {
    if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
        ip link add "$BRIDGE" type bridge
        ip addr add "$CONTROLLER_ADDRESS/24" dev "$BRIDGE"
    fi
    ip link set "$BRIDGE" up
    local node
    for node in "${NODES[@]}"; do
        netns_on_bridge "$(node_netns "$node")" "lbv-$node" "$(node_address "$node")"
    done
}

# A network namespace $1 that looks like a host on the bridge: its eth0 with address $3, the other
# end of the veth ($2, the end tc shapes toward it) a port of the bridge. Idempotent.
netns_on_bridge() {
    local netns=$1 host_end=$2 address=$3
    [ -e "/run/netns/$netns" ] || ip netns add "$netns"
    if ! ip -n "$netns" link show eth0 >/dev/null 2>&1; then
        ip link add "$host_end" type veth peer name eth0 netns "$netns"
        ip link set "$host_end" master "$BRIDGE" up
        ip -n "$netns" addr add "$address/24" dev eth0
    fi
    ip -n "$netns" link set lo up
    ip -n "$netns" link set eth0 up
}

network_down() {
    local node
    for node in "${NODES[@]}"; do
        # Deleting the namespace deletes its end of the veth, and with it the bridge's end.
        [ -e "/run/netns/$(node_netns "$node")" ] && ip netns delete "$(node_netns "$node")"
        ip link show "lbv-$node" >/dev/null 2>&1 && ip link delete "lbv-$node"
    done
    if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link delete "$BRIDGE"; fi
}

# --- shared storage -----------------------------------------------------------------------
# Agents may be mid-migration on neither switch: their shared directories change under them.
storage_local() {
    local node shared
    mkdir -p "$STORAGE_EXPORT"
    for node in "${NODES[@]}"; do
        shared=$(node_shared_dir "$node")
        mkdir -p "$(dirname "$shared")"
        if mountpoint -q "$shared"; then umount "$shared" || umount -l "$shared"; fi
        [ -d "$shared" ] && [ ! -L "$shared" ] && rmdir "$shared"
        ln -sfn "$STORAGE_EXPORT" "$shared"
    done
    storage_server_down
}

# Shapes a device's egress (in namespace $1, or the host's when empty) to a rate with a token
# bucket whose burst is one 10 ms slice, which keeps it smooth; "unlimited" removes the shaping.
shape_device() {
    local netns=$1 device=$2 rate=$3
    local tc=(tc)
    [ -z "$netns" ] || tc=(tc -n "$netns")
    "${tc[@]}" qdisc del dev "$device" root 2>/dev/null || true
    [ "$rate" = unlimited ] && return 0
    "${tc[@]}" qdisc replace dev "$device" root tbf rate "$rate" burst "$(tc_burst "$rate")" latency 50ms
}

# A node's link to the bridge, as the node sends: what it migrates out (the benchmark shapes both ends).
link() {
    require_root
    local node=$1 rate=${2:-}
    [ -n "$rate" ] || die "usage: $0 link NODE RATE|unlimited"
    [ -e "/run/netns/$(node_netns "$node")" ] || die "$node is not up"
    shape_device "$(node_netns "$node")" eth0 "$rate"
    log "link: $node sends at ${rate}"
}

storage_network() {
    local rate=$1 node shared
    mkdir -p "$STORAGE_EXPORT"
    netns_on_bridge "$STORAGE_NETNS" lbv-storage "$STORAGE_ADDRESS"
    # The server's link, shaped both ways: lbv-storage's egress carries the nodes' writes to it,
    # its eth0's egress their reads.
    shape_device "" lbv-storage "$rate"
    shape_device "$STORAGE_NETNS" eth0 "$rate"
    if ! pid_alive "$TESTBED_RUN/storage-server.pid"; then
        # One sftp-server per connection, rooted nowhere special: clients name the export's path.
        nsenter --net="/run/netns/$STORAGE_NETNS" -- setsid --fork socat \
            "TCP-LISTEN:$STORAGE_PORT,bind=$STORAGE_ADDRESS,reuseaddr,fork" EXEC:/usr/lib/openssh/sftp-server \
            </dev/null >"$TESTBED_RUN/log/storage-server.log" 2>&1
        wait_for 10 storage_server_pid || die "the file server did not start: $(cat "$TESTBED_RUN/log/storage-server.log")"
        storage_server_pid > "$TESTBED_RUN/storage-server.pid"
    fi
    for node in "${NODES[@]}"; do
        shared=$(node_shared_dir "$node")
        mountpoint -q "$shared" && continue
        rm -f "$shared"
        mkdir -p "$shared"
        # From inside the node's namespace, so the traffic crosses the node's own link too. No
        # directory or attribute cache: a node must see at once the image directory, and the sizes
        # of the files, another node just wrote; NFS gives that as close-to-open consistency, while
        # FUSE keeps a file's size for attr_timeout (1 s), and CRIU then reads a short image.
        in_node "$node" sshfs -o "directport=$STORAGE_PORT,dir_cache=no,attr_timeout=0,entry_timeout=0,reconnect,allow_other,default_permissions" \
            "$STORAGE_ADDRESS:$STORAGE_EXPORT" "$shared" ||
            die "cannot mount the file server's $STORAGE_EXPORT on $shared"
    done
}

# The listening socat: the one whose parent is not a socat (each connection forks one more).
storage_server_pid() {
    local pid parent
    for pid in $(ip netns pids "$STORAGE_NETNS" 2>/dev/null); do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = socat ] || continue
        parent=$(ps -o ppid= -p "$pid" | tr -d ' ')
        [ "$(cat "/proc/$parent/comm" 2>/dev/null)" = socat ] || { echo "$pid"; return 0; }
    done
    return 1
}

storage_server_down() {
    [ -e "/run/netns/$STORAGE_NETNS" ] || return 0
    ip netns pids "$STORAGE_NETNS" | xargs -r kill -KILL 2>/dev/null || true
    wait_for 10 netns_empty "$STORAGE_NETNS" || die "processes survive in $STORAGE_NETNS: $(ip netns pids "$STORAGE_NETNS")"
    ip netns delete "$STORAGE_NETNS"
    rm -f "$TESTBED_RUN/storage-server.pid"
}

storage() {
    require_root
    [ -d "$(node_dir "${NODES[0]}")" ] || die "the testbed is not up: run $0 up first"
    case "${1:-}" in
        local) storage_local ;;
        network)
            [ -n "${2:-}" ] || die "usage: $0 storage network RATE (e.g. 800mbit)"
            command -v sshfs >/dev/null && command -v socat >/dev/null || die "sshfs or socat is missing: run testbed/deps.sh"
            storage_network "$2" ;;
        *) die "usage: $0 storage local|network RATE" ;;
    esac
    log "storage: $(storage_description)"
}

storage_description() {
    if mountpoint -q "$(node_shared_dir "${NODES[0]}")"; then
        echo "sshfs from $STORAGE_ADDRESS, link $(tc qdisc show dev lbv-storage | awk '$2 == "tbf" {print $8; exit}')"
    else
        echo "$STORAGE_EXPORT on this machine's disk"
    fi
}

# --- munge --------------------------------------------------------------------------------
munge_up() {
    local dir=$TESTBED_RUN/munge
    pid_alive "$dir/munged.pid" && return 0
    mkdir -p "$dir"
    # Every user's sbatch reaches munged through the socket here; the key itself is mode 0400.
    chmod 755 "$dir"
    if [ ! -f "$dir/munge.key" ]; then
        dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 status=none
        chmod 400 "$dir/munge.key"
    fi
    # --force: munged refuses to run as root without it; the testbed's daemons all run as root.
    munged --force --socket="$MUNGE_SOCKET" --key-file="$dir/munge.key" --pid-file="$dir/munged.pid" \
        --log-file="$dir/munged.log" --seed-file="$dir/munged.seed"
    wait_for 10 test -S "$MUNGE_SOCKET" || die "munged did not start: $(tail -5 "$dir/munged.log")"
}

# --- slurm --------------------------------------------------------------------------------
write_slurm_config() {
    local etc=$TESTBED_RUN/etc
    mkdir -p "$etc" "$TESTBED_RUN/slurm/state" "$TESTBED_RUN/slurm/spool" "$TESTBED_RUN/log"
    local node lines=""
    for node in "${NODES[@]}"; do
        lines+="NodeName=$node NodeAddr=$(node_address "$node") Port=$(slurmd_port "$node") CPUs=24 RealMemory=8000 State=UNKNOWN"$'\n'
    done
    # Everything but the SPANK plugin stack is shared. The plugin reaches its node's agent through
    # the socket named in plugstack.conf, and here every node's agent has its own socket, so each
    # slurmd reads a slurm.conf of its own that includes the shared part and names its own plugstack.
    cat > "$etc/cluster.conf" <<CONF
# Generated by testbed/cluster.sh; rewritten at every 'up'.
ClusterName=lifeboat
SlurmctldHost=$(hostname -s)($CONTROLLER_ADDRESS)
SlurmctldPort=$SLURMCTLD_PORT
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$TESTBED_RUN/slurm/state
SlurmdSpoolDir=$TESTBED_RUN/slurm/spool/%n
SlurmctldPidFile=$TESTBED_RUN/slurm/slurmctld.pid
SlurmdPidFile=$TESTBED_RUN/slurm/slurmd-%n.pid
SlurmctldLogFile=$TESTBED_RUN/log/slurmctld.log
SlurmdLogFile=$TESTBED_RUN/log/slurmd-%n.log
# The nodes' slurm.conf files differ from the controller's in PlugStackConfig alone, on purpose.
DebugFlags=NO_CONF_HASH
# The nodes declare more CPUs and memory than one small machine has; use the declared values.
SlurmdParameters=config_overrides
# Slurm's cgroup process tracking: every process of a job, restored ones included, is counted.
ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
SlurmdTimeout=30
KillWait=5
JobRequeue=1
$lines
PartitionName=batch Nodes=node1,node2,node3 Default=YES MaxTime=INFINITE State=UP
# LoadTest's job array of 500 tasks at once on one node: its cores shared by up to 32 jobs each (the tasks
# only wait), so 24 declared CPUs hold them all; the default partition never shares.
PartitionName=load Nodes=node3 OverSubscribe=FORCE:32 MaxTime=INFINITE State=UP
# Jobs on three nodes (JobsAcrossNodesTest) whose one moving part needs a fourth.
PartitionName=wide Nodes=$(IFS=,; echo "${NODES[*]}") MaxTime=INFINITE State=UP
CONF
    # The controller and the clients (sbatch, srun, salloc) load the plugin for its --migratable
    # option alone; only slurmstepd and the epilog on a node talk to an agent.
    write_node_config "$etc" ""
    for node in "${NODES[@]}"; do
        write_node_config "$etc/$node" "$(node_dir "$node")/agent.sock"
    done
}

# slurm.conf, plugstack.conf and cgroup.conf (slurmd reads it beside slurm.conf) in directory $1,
# with the plugin talking to the agent socket $2 (none: the plugin's default, never used there).
write_node_config() {
    local dir=$1 socket_argument=${2:+socket=$2}
    mkdir -p "$dir"
    printf 'Include %s\nPlugStackConfig=%s\n' "$TESTBED_RUN/etc/cluster.conf" "$dir/plugstack.conf" > "$dir/slurm.conf"
    # required: a plugin that fails to load fails the job; required=0: an unreachable agent does not.
    printf 'required %s %s required=0\n' "$USER_SPANK_PLUGIN" "$socket_argument" > "$dir/plugstack.conf"
    cat > "$dir/cgroup.conf" <<CONF
# The machine mounts cgroup v1 controllers under /sys/fs/cgroup (cgroup2 only at .../unified).
CgroupPlugin=cgroup/v1
CONF
}

slurmctld_up() {
    pid_alive "$TESTBED_RUN/slurm/slurmctld.pid" && return 0
    slurmctld -f "$SLURM_CONF"
    wait_for 20 scontrol ping || die "slurmctld did not answer: $(tail -5 "$TESTBED_RUN/log/slurmctld.log")"
}

# Copies $1 to $2 (mode $3, root's) unless $2 is the same already: a file replaced under a running
# container (its /.lifeboat/init is lifeboat-run itself) becomes a deleted file CRIU will not dump.
publish() {
    if ! cmp -s "$1" "$2"; then
        install -o root -g root -m "$3" "$1" "$2"
    fi
}

# Jobs are ordinary users' (TEST_USERS), as on a cluster: they load the SPANK plugin (sbatch does,
# as the user), run lifeboat-run (installed setuid root, as the README tells sites to) and the test
# workloads, and write their output below $TESTBED_RUN/shared, a sticky directory like /tmp.
publish_for_users() {
    local user tool
    mkdir -p "$USER_BIN" "$(dirname "$USER_SPANK_PLUGIN")" "$TESTBED_RUN/shared"
    chmod 755 "$TESTBED_RUN" "$USER_BIN" "$(dirname "$USER_SPANK_PLUGIN")"
    chmod 1777 "$TESTBED_RUN/shared"
    publish "$SPANK_PLUGIN" "$USER_SPANK_PLUGIN" 0755
    [ -f "$REPO_DIR/launcher/lifeboat-run" ] || die "launcher/lifeboat-run is missing: build it first (make -C launcher)"
    publish "$REPO_DIR/launcher/lifeboat-run" "$USER_BIN/lifeboat-run" 4755
    # CRIU runs as each job's owner, who must be able to execute it (the build is in the checkout's cache).
    publish "$(criu_binary)" "$USER_BIN/criu" 0755
    for tool in lifeboat-workload lifeboat-workload-static; do
        [ -f "$REPO_DIR/launcher/tests/$tool" ] && publish "$REPO_DIR/launcher/tests/$tool" "$USER_BIN/$tool" 0755
    done
    # The MPI tests' program (launcher/tests/mpi-ring.c), for Debian's Open MPI and MPICH.
    local mpi
    for mpi in openmpi mpich; do
        mkdir -p "$TESTBED_CACHE/mpi"
        "mpicc.$mpi" -O2 -Wall -o "$TESTBED_CACHE/mpi/mpi-ring-$mpi" "$REPO_DIR/launcher/tests/mpi-ring.c"
        publish "$TESTBED_CACHE/mpi/mpi-ring-$mpi" "$USER_BIN/mpi-ring-$mpi" 0755
    done
    # One node's part of an MPI job whose parts run in one container per node (srun lifeboat-run
    # --network=job -- lifeboat-mpi-part ...); a job binds $USER_BIN to reach it in its container.
    publish "$REPO_DIR/launcher/lifeboat-mpi-part" "$USER_BIN/lifeboat-mpi-part" 0755
    # The lifeboat command for users (lifeboat status, as its owner): the jar and the libraries beside it.
    rm -rf "$USER_AGENT_DIR"
    mkdir -p "$USER_AGENT_DIR"
    cp -r "$AGENT_JAR" "$(dirname "$AGENT_JAR")/lib" "$USER_AGENT_DIR/"
    chmod -R a+rX "$USER_AGENT_DIR"
    # The Apptainer test double as an apptainer-suid install: users' instances need its starter
    # setuid root, and the agents run it as each job's owner.
    make -s -C "$TESTBED_DIR/apptainer" starter
    mkdir -p "$USER_APPTAINER_DIR"
    chmod 755 "$USER_APPTAINER_DIR"
    publish "$TESTBED_DIR/apptainer/apptainer" "$USER_APPTAINER_DIR/apptainer" 0755
    publish "$TESTBED_DIR/apptainer/starter" "$USER_APPTAINER_DIR/starter" 4755
    # A home of their own (0700), as users have on a cluster: Apptainer keeps instances in ~/.apptainer.
    for user in "${TEST_USERS[@]}"; do
        id -u "$user" >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin "$user"
        install -d -o "$user" -g "$(id -g "$user")" -m 0700 "$(getent passwd "$user" | cut -d: -f6)"
    done
}

checkpoint_dir_up() {
    local dir
    dir=$(node_dir "$1")/checkpoints
    mkdir -p "$dir"
    mountpoint -q "$dir" || mount -t tmpfs -o "size=$CHECKPOINT_TMPFS_SIZE,mode=0700" "lifeboat-$1" "$dir"
}

slurmd_up() {
    local node=$1
    pid_alive "$TESTBED_RUN/slurm/slurmd-$node.pid" && return 0
    mkdir -p "$TESTBED_RUN/slurm/spool/$node"
    in_node "$node" slurmd -N "$node" -f "$TESTBED_RUN/etc/$node/slurm.conf"
}

# slurmctld marks a node that has not registered (yet) unk, and one that stopped answering with '*'.
slurmd_registered() {
    local state
    state=$(sinfo -h -N -n "$1" -o %t | head -1)
    [ -n "$state" ] && [[ $state != unk* ]] && [[ $state != *'*' ]]
}

slurmd_liveness() {
    if pid_alive "$TESTBED_RUN/slurm/slurmd-$1.pid"; then echo "running as pid $(cat "$TESTBED_RUN/slurm/slurmd-$1.pid")"; else echo "not running"; fi
}

all_nodes_idle() {
    local states
    states=$(sinfo -h -N -o '%N %t' | sort -u)
    local node
    for node in "${NODES[@]}"; do
        grep -qE "^$node (idle|mix|alloc)\$" <<<"$states" || return 1
    done
}

agent_up() {
    local node=$1 dir
    dir=$(node_dir "$node")
    if pid_alive "$dir/agent.pid"; then
        # An agent started before the jar was rebuilt loads classes lazily from the new one and
        # fails (NoClassDefFoundError) on the first code path it had not used yet: restart it.
        [ "$AGENT_JAR" -nt "$dir/agent.pid" ] || return 0
        stop_pidfile "$dir/agent.pid"
    fi
    [ -f "$AGENT_JAR" ] || die "$AGENT_JAR is missing: build first (mvn -B -DskipTests package)"
    mkdir -p "$dir/state" "$TESTBED_RUN/shared"
    # A test that needs a node's agent configured otherwise (e.g. to inject a fault) leaves a whole
    # configuration in agent.override.yaml, and removes it when done.
    local config=$dir/agent.yaml
    [ -f "$dir/agent.override.yaml" ] && config=$dir/agent.override.yaml
    cat > "$dir/agent.yaml" <<CONF
# Generated by testbed/cluster.sh for $node.
node-name: $node
state-directory: $dir/state
checkpoint-directory: $dir/checkpoints
socket-path: $dir/agent.sock
# The testbed runs slurmctld and slurmd as root (SlurmUser=root).
slurm-user: root
criu-path: $USER_BIN/criu
shared-directory: $(node_shared_dir "$node")
http:
  address: $(node_address "$node")
  port: $AGENT_HTTP_PORT
peer:
  address: $(node_address "$node")
  port: $AGENT_PEER_PORT
  munge-socket: $MUNGE_SOCKET
# Addresses for jobs that ask for their own (--migratable=net): ten per node, none shared, on the
# nodes' subnet (root-made test networks use .101-.103, the outside test server .200).
job-network:
  addresses: $SUBNET_PREFIX.$((100 + 10 * $(node_index "$node")))-$SUBNET_PREFIX.$((109 + 10 * $(node_index "$node")))
  prefix-length: 24
# Dependencies (CRIU, munged, slurmctld, the checkpoint tmpfs) checked every 5 s rather than 30: a
# test that stops slurmctld or munged and then runs 'up', which waits 30 s for every agent's /health
# to say ok, finds the agents seeing them back within that wait.
health:
  interval: 5s
# The prediction intake's token, created by the agent at its first start (mode 0600) as on a fresh
# install; the tests read it as an admin would (lifeboat predict --token-file, Alertmanager's
# credentials_file). Each node's own, as each node's /etc/lifeboat would be.
predictor:
  token-file: $dir/prediction-token
# The Apptainer test double (testbed/apptainer, published with its setuid starter) and the
# helpers built in launcher/.
apptainer:
  path: $USER_APPTAINER_DIR/apptainer
  helper-directory: $(dirname "$TESTBED_DIR")/launcher
CONF
    # setsid --fork: the agent outlives this script and its terminal, as a daemon would; its pid
    # is then read back from the process table, since $! would name the short-lived parent.
    in_node "$node" setsid --fork java -jar "$AGENT_JAR" agent --config "$config" \
        </dev/null >"$TESTBED_RUN/log/agent-$node.log" 2>&1
    wait_for 10 agent_pid "$node" || die "the agent on $node did not start: $(tail -5 "$TESTBED_RUN/log/agent-$node.log")"
    agent_pid "$node" > "$dir/agent.pid"
}

agent_pid() {
    pgrep -f -- "agent --config $(node_dir "$1")/agent(\.override)?\.yaml\$"
}

agent_healthy() {
    local node=$1
    in_node "$node" bash -c "exec 3<>/dev/tcp/$(node_address "$node")/$AGENT_HTTP_PORT &&
        printf 'GET /health HTTP/1.0\r\n\r\n' >&3 && grep -q '\"status\":\"ok\"' <&3"
}

up() {
    require_root
    local tool
    for tool in munged slurmctld slurmd sbatch nsenter; do
        command -v "$tool" >/dev/null || die "$tool is not installed: run testbed/deps.sh"
    done
    [ -f "$SPANK_PLUGIN" ] || die "$SPANK_PLUGIN is missing: build it first (make -C slurm-hooks)"
    [ -f "$AGENT_JAR" ] || die "$AGENT_JAR is missing: build first (mvn -B -DskipTests package)"
    mkdir -p "$TESTBED_RUN"
    publish_for_users
    # What the RPM's sysctl.d file sets: CRIU's lazy-page server (post-copy) needs pipes above 1 MiB.
    [ "$(cat /proc/sys/fs/pipe-max-size)" -ge 4194304 ] || sysctl -qw fs.pipe-max-size=4194304
    network_up
    munge_up
    write_slurm_config
    slurmctld_up
    local node
    for node in "${NODES[@]}"; do
        checkpoint_dir_up "$node"
        slurmd_up "$node"
    done
    for node in "${NODES[@]}"; do
        wait_for 20 slurmd_registered "$node" && continue
        # Seen once in CI: one slurmd of three never registered (its node stayed unk*) while the
        # others did. Start that node's slurmd again, once, and keep what its log said.
        log "$node did not register with slurmctld in 20 s (slurmd $(slurmd_liveness "$node")); starting its slurmd again; its log ended: $(tail -3 "$TESTBED_RUN/log/slurmd-$node.log" 2>&1)"
        stop_pidfile "$TESTBED_RUN/slurm/slurmd-$node.pid"
        slurmd_up "$node"
        wait_for 30 slurmd_registered "$node" ||
            die "$node did not register with slurmctld (slurmd $(slurmd_liveness "$node")): $(sinfo -N 2>&1)
slurmd-$node.log ended: $(tail -15 "$TESTBED_RUN/log/slurmd-$node.log" 2>&1)
slurmctld.log ended: $(tail -15 "$TESTBED_RUN/log/slurmctld.log" 2>&1)"
    done
    if ! wait_for 30 all_nodes_idle; then
        # A node drained in an earlier run stays drained across restarts (StateSaveLocation).
        scontrol update nodename="$(IFS=,; echo "${NODES[*]}")" state=resume 2>/dev/null || true
        wait_for 15 all_nodes_idle || die "nodes did not come up idle: $(sinfo -N 2>&1)"
    fi
    # A file server mounted by `storage network` stays; otherwise the shared directories are links.
    mountpoint -q "$(node_shared_dir "${NODES[0]}")" || storage_local
    for node in "${NODES[@]}"; do agent_up "$node"; done
    for node in "${NODES[@]}"; do
        wait_for 30 agent_healthy "$node" || die "agent on $node is not healthy: $(tail -5 "$TESTBED_RUN/log/agent-$node.log")"
    done
    log "up: controller $CONTROLLER_ADDRESS:$SLURMCTLD_PORT, nodes ${NODES[*]}; export SLURM_CONF=$SLURM_CONF"
}

no_active_jobs() { [ -z "$(squeue -h -t PENDING,RUNNING,CONFIGURING,COMPLETING,REQUEUED,SUSPENDED -o %i)" ]; }
netns_empty() { [ -z "$(ip netns pids "$1")" ]; }

# Jobs' own network namespaces (tests name them lbj-JOBID): a test that failed half-way, or a moved
# job whose namespace a target agent re-created, must not leave an address in use for the next one.
remove_job_namespaces() {
    local netns
    for netns in $(ip netns list | awk '$1 ~ /^lbj-/ {print $1}'); do
        ip netns pids "$netns" | xargs -r kill -KILL 2>/dev/null || true
        wait_for 10 netns_empty "$netns" || die "processes survive in $netns: $(ip netns pids "$netns")"
        ip netns delete "$netns"
    done
}

reset() {
    require_root
    # scancel needs a filter to act on every user's jobs: name them all.
    squeue -h -o %A | xargs -r scancel --full
    wait_for 30 no_active_jobs ||
        die "jobs did not end: $(squeue 2>&1)"
    remove_job_namespaces
    scontrol update nodename="$(IFS=,; echo "${NODES[*]}")" state=resume 2>/dev/null || true
    wait_for 30 all_nodes_idle || die "nodes not idle after reset: $(sinfo -N 2>&1)"
}

# Stop the processes in the pid file $1 with SIGTERM, then SIGKILL after a grace period.
stop_pidfile() {
    local file=$1
    pid_alive "$file" || return 0
    local pid
    pid=$(cat "$file")
    kill -TERM "$pid" 2>/dev/null || true
    wait_for 10 bash -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null || true
}

down() {
    require_root
    local node netns
    for node in "${NODES[@]}"; do
        stop_pidfile "$(node_dir "$node")/agent.pid"
        stop_pidfile "$TESTBED_RUN/slurm/slurmd-$node.pid"
    done
    # Whatever still runs on a node (job steps, jobs, their containers) goes with the node.
    for node in "${NODES[@]}"; do
        netns=$(node_netns "$node")
        [ -e "/run/netns/$netns" ] || continue
        ip netns pids "$netns" | xargs -r kill -KILL 2>/dev/null || true
        wait_for 10 netns_empty "$netns" || die "processes survive in $netns: $(ip netns pids "$netns")"
    done
    remove_job_namespaces
    storage_server_down
    stop_pidfile "$TESTBED_RUN/slurm/slurmctld.pid"
    stop_pidfile "$TESTBED_RUN/munge/munged.pid"
    remove_slurm_cgroups
    remove_stale_containers
    rm -rf /run/lifeboat/resume
    local mount
    if [ -d "$TESTBED_RUN" ]; then
        findmnt -rn -o TARGET | grep -F "$TESTBED_RUN/" | sort -r | while read -r mount; do
            umount "$mount" || umount -l "$mount"
        done
    fi
    network_down
    rm -rf "$TESTBED_RUN"
    log "down: nothing of the testbed is left"
}

# lifeboat-run keeps each container's state in /run/lifeboat/containers/PID and removes it when the
# container ends; containers killed with their node above could not. Only directories whose
# lifeboat-run is gone are removed, so containers of anything else on this machine are untouched.
remove_stale_containers() {
    local state
    for state in /run/lifeboat/containers/*/; do
        [ -d "$state" ] || continue
        kill -0 "$(basename "$state")" 2>/dev/null && continue
        if mountpoint -q "$state/root"; then umount -l "$state/root"; fi
        rm -rf "$state"
    done
}

# slurmd's proctrack/task cgroup plugins create a hierarchy per node (slurm_<node>) in each
# cgroup v1 controller; it outlives slurmd, so remove it, deepest directories first.
remove_slurm_cgroups() {
    local node controller
    for controller in /sys/fs/cgroup/*/; do
        for node in "${NODES[@]}"; do
            [ -d "$controller/slurm_$node" ] || continue
            find "$controller/slurm_$node" -depth -type d -exec rmdir {} + 2>/dev/null || true
        done
    done
}

status() {
    local healthy=0 node
    report() { printf '%-28s %s\n' "$1" "$2"; }
    if pid_alive "$TESTBED_RUN/munge/munged.pid"; then report munged "running"; else report munged "stopped"; healthy=1; fi
    if pid_alive "$TESTBED_RUN/slurm/slurmctld.pid"; then report slurmctld "running on $CONTROLLER_ADDRESS:$SLURMCTLD_PORT"; else report slurmctld "stopped"; healthy=1; fi
    for node in "${NODES[@]}"; do
        local parts=()
        if [ -e "/run/netns/$(node_netns "$node")" ]; then parts+=("netns $(node_netns "$node") $(node_address "$node")"); else parts+=("no netns"); healthy=1; fi
        if pid_alive "$TESTBED_RUN/slurm/slurmd-$node.pid"; then parts+=("slurmd :$(slurmd_port "$node")"); else parts+=("slurmd stopped"); healthy=1; fi
        if pid_alive "$(node_dir "$node")/agent.pid" && agent_healthy "$node"; then parts+=("agent healthy :$AGENT_HTTP_PORT"); else parts+=("agent down"); healthy=1; fi
        if mountpoint -q "$(node_dir "$node")/checkpoints"; then parts+=("tmpfs $(node_dir "$node")/checkpoints"); else parts+=("no tmpfs"); healthy=1; fi
        report "$node" "$(IFS=,; echo "${parts[*]}" | sed 's/,/, /g')"
    done
    report storage "$(storage_description)"
    if [ $healthy -eq 0 ]; then
        sinfo -N -o '%N %t %c %m %P'
        squeue -o '%i %j %u %t %N'
        echo "SLURM_CONF=$SLURM_CONF"
    fi
    return $healthy
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    reset) reset ;;
    storage) shift; storage "$@" ;;
    link) shift; link "$@" ;;
    *)
        echo "usage: $0 up|down|status|reset|storage local|storage network RATE|link NODE RATE|unlimited" >&2
        exit 2
        ;;
esac
