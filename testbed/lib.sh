# Shared settings and helpers of the Lifeboat testbed. Sourced, never run.
# Every path the testbed writes is below $TESTBED_RUN (state of the running cluster) or
# $TESTBED_CACHE (CRIU build, kept between runs, ignored by git).

TESTBED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$TESTBED_DIR/.." && pwd)
# Outside the checkout: the testbed's jobs belong to ordinary users, who must read the Slurm
# configuration, load the SPANK plugin, run lifeboat-run and write their output there, and a
# checkout may be where they cannot even enter (under /root, or any 0700 directory). One
# testbed runs on a machine at a time (its network and ports are fixed), so one place serves.
TESTBED_RUN=${TESTBED_RUN:-/var/lib/lifeboat-testbed}
TESTBED_CACHE=${TESTBED_CACHE:-$TESTBED_DIR/cache}

# Four compute nodes, each in its own network namespace on one bridge, so each looks like a
# separate host: its own address, and traffic between nodes crosses a veth link `tc` can shape.
# The default partition has the first three; node4 is only in the partition "wide", with all four,
# so that one node's part of a job on three nodes has a node to move to.
NODES=(node1 node2 node3 node4)
BRIDGE=lbbr0
SUBNET_PREFIX=10.241.0
CONTROLLER_ADDRESS=$SUBNET_PREFIX.254
# Ports far from Slurm's defaults (6817/6818) so a system Slurm on the same machine is untouched.
SLURMCTLD_PORT=16817
SLURMD_BASE_PORT=16820
AGENT_HTTP_PORT=9464
AGENT_PEER_PORT=9465
CHECKPOINT_TMPFS_SIZE=3g

SLURM_CONF=$TESTBED_RUN/etc/slurm.conf
export SLURM_CONF
MUNGE_SOCKET=$TESTBED_RUN/munge/munge.socket

# The ordinary users whose jobs the demo and the tests run.
TEST_USERS=(lbalice lbbob)

node_index() { echo "${1#node}"; }
node_address() { echo "$SUBNET_PREFIX.$(node_index "$1")"; }
node_netns() { echo "lb-$1"; }
node_dir() { echo "$TESTBED_RUN/nodes/$1"; }
# Each agent's shared-directory: a path of its own, as on a cluster whose nodes mount the file
# server wherever their admins chose; all of them show the file server's export.
node_shared_dir() { echo "$(node_dir "$1")/shared"; }
STORAGE_EXPORT=$TESTBED_RUN/storage
# The file server of `cluster.sh storage network RATE`: its own namespace on the bridge, serving
# the export over SFTP (sshfs's direct mode: the protocol without ssh's encryption, like NFS
# without Kerberos).
STORAGE_NETNS=lb-storage
STORAGE_ADDRESS=$SUBNET_PREFIX.250
STORAGE_PORT=16022
slurmd_port() { echo $((SLURMD_BASE_PORT + $(node_index "$1"))); }

# Run a command inside a node's network namespace only. `ip netns exec` would also give it a
# private mount namespace with /sys remounted, hiding the cgroup mounts that slurmd's
# proctrack/cgroup and CRIU need, so enter the network namespace alone.
in_node() {
    local node=$1
    shift
    nsenter --net="/run/netns/$(node_netns "$node")" -- "$@"
}

log() { printf 'testbed: %s\n' "$*" >&2; }
die() {
    printf 'testbed: error: %s\n' "$*" >&2
    exit 1
}

# For the entry points (demo.sh, test.sh): as root, return; as a user, re-run "$@" through sudo.
# A fresh Debian machine may have no sudo: then say to run as root.
rerun_as_root() {
    [ "$(id -u)" -eq 0 ] && return 0
    local name
    name=$(basename "$1")
    command -v sudo >/dev/null || { echo "$name: needs root, and there is no sudo: run it as root" >&2; exit 1; }
    echo "$name: needs root; re-running through sudo" >&2
    exec sudo -- "$@"
}

require_root() {
    [ "$(id -u)" -eq 0 ] || die "the testbed needs root (network namespaces, tmpfs, slurmd); run it as root"
}

# Wait until "$@" succeeds, at most $1 seconds; returns 1 on timeout.
wait_for() {
    local seconds=$1
    shift
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

# A token bucket's burst for a tc rate (800mbit, 1gbit, 10gbit): one 10 ms slice, at least 64 KiB.
tc_burst() {
    local rate=$1 number unit bits
    number=${rate%%[a-z]*}
    unit=${rate#"$number"}
    case "$unit" in
        kbit) bits=$((number * 1000)) ;;
        mbit) bits=$((number * 1000000)) ;;
        gbit) bits=$((number * 1000000000)) ;;
        *) die "rate '$rate': give it in kbit, mbit or gbit" ;;
    esac
    local burst=$((bits / 8 / 100))
    [ $burst -ge 65536 ] || burst=65536
    echo "$burst"
}

criu_binary() { echo "$TESTBED_CACHE/criu/sbin/criu"; }
