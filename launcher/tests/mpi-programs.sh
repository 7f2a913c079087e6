#!/usr/bin/env bash
# Real MPI programs in lifeboat-run containers, as TEST_USER (lbalice by default) through a
# setuid-root copy of the launcher, as in production. tests/mpi-ring.c, 4 ranks, is built with
# each MPI's mpicc; it must print "ring of 4 ranks: token 4" and MPI must print no warning: no
# hwloc one ("failed to find sysfs cpu topology directory", what a container without the
# topology gets), nothing at all from Open MPI.
#
#   openmpi     Debian's Open MPI 4.1: `mpirun.openmpi --oversubscribe -np 4` inside a
#               --network=loopback container (the machine has fewer cores than ranks); mpirun's
#               PMIx server and the ranks talk over the container's own 127.0.0.1.
#   mpich       MPICH 4.0: `mpiexec.mpich -launcher fork -np 4` inside such a container. Debian's
#               MPICH is built on UCX, whose TCP transport lists /sys/class/net: the container
#               has it, holding one link per interface of its namespace (here lo). Without it
#               every rank logged "UCX ERROR opendir(/sys/class/net) failed" on stdout; now
#               MPICH prints nothing either.
#   mpich-pmi   how srun --mpi=pmi2 starts ranks: the launcher (Hydra, outside, in a job's
#               cgroup) starts 4 lifeboat-runs, each with its PMI connection in PMI_FD; they share
#               one container (the job's), and MPI_Init in each goes through the kept socket.
#               Without it MPI_Init fails ("Unable to write to PMI_fd").
# Both MPIs must be installed (testbed/deps.sh: openmpi-bin libopenmpi-dev mpich libmpich-dev):
# one that is missing fails the test, which would otherwise prove nothing.
#
#   launcher/tests/mpi-programs.sh        (as root; a few seconds)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
launcher_dir=$(dirname "$here")
TEST_USER=${TEST_USER:-lbalice}
JOB=930
EXPECTED="ring of 4 ranks: token 4"

log() { printf 'mpi-programs: %s\n' "$*" >&2; }
fail() {
    printf 'mpi-programs: FAILED: %s\n' "$*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || fail "must run as root (setuid launcher, cgroups)"
make -s -C "$launcher_dir" lifeboat-run
test_uid=$(id -u "$TEST_USER")
test_gid=$(id -g "$TEST_USER")

work=$(mktemp -d /tmp/lifeboat-mpi-programs.XXXXXX)
chmod 755 "$work"
install -m 4755 "$launcher_dir/lifeboat-run" "$work/lifeboat-run"
mkdir "$work/job"
job_cgroups lifeboat-mpi-programs

cleanup() {
    local status=$? pid
    for pid in $(jobs -p); do kill -KILL "$pid" 2>/dev/null || true; done
    remove_job_cgroups
    rm -f "/run/lifeboat/jobs/$JOB-$test_uid"*
    rm -rf "$work"
    exit $status
}
trap cleanup EXIT

# build MPI: compiles the ring with MPI's mpicc into $work/job/ring-MPI; false if MPI is missing.
build() {
    command -v "mpicc.$1" >/dev/null || return 1
    "mpicc.$1" -O2 -o "$work/job/ring-$1" "$here/mpi-ring.c"
}

# check_output WHAT ALLOWED FILES...: the ring's line once in all FILES together, no hwloc
# warning, and every other line matching the regular expression ALLOWED (empty: none allowed).
check_output() {
    local what=$1 allowed=$2 others
    shift 2
    [ "$(cat "$@" | grep -cx "$EXPECTED")" = 1 ] || fail "$what: no '$EXPECTED' in: $(cat "$@")"
    ! grep -qi hwloc "$@" || fail "$what: hwloc complained: $(grep -hi hwloc "$@" | sort -u)"
    others=$(cat "$@" | grep -vx "$EXPECTED" | { [ -z "$allowed" ] && cat || grep -Ev "$allowed"; } || true)
    [ -z "$others" ] || fail "$what: unexpected output: $others"
}

scenario_openmpi() {
    local started code=0
    started=$(now)
    as_user "$work/lifeboat-run" --network=loopback --stdout openmpi.out --stderr openmpi.err \
        -- mpirun.openmpi --oversubscribe -np 4 ./ring-openmpi || code=$?
    [ "$code" = 0 ] || fail "openmpi: exit code $code: $(cat "$work/job/openmpi.out" "$work/job/openmpi.err")"
    check_output openmpi "" "$work/job/openmpi.out" "$work/job/openmpi.err"
    log "openmpi: mpirun -np 4 in a loopback container: '$EXPECTED', nothing else, in $(elapsed "$started" "$(now)") s"
}

scenario_mpich() {
    local started code=0
    started=$(now)
    as_user "$work/lifeboat-run" --network=loopback --stdout mpich.out --stderr mpich.err \
        -- mpiexec.mpich -launcher fork -np 4 ./ring-mpich || code=$?
    [ "$code" = 0 ] || fail "mpich: exit code $code: $(cat "$work/job/mpich.out" "$work/job/mpich.err")"
    check_output mpich "" "$work/job/mpich.out" "$work/job/mpich.err"
    log "mpich: mpiexec -np 4 in a loopback container: '$EXPECTED', nothing else, in $(elapsed "$started" "$(now)") s"
}

scenario_mpich_pmi() {
    local started code=0 rank
    started=$(now)
    # Each rank's launcher is a task of job $JOB (its cgroup, SLURM_JOB_ID): they share one
    # container, as srun's tasks do. Hydra itself does not see SLURM_JOB_ID (it would use srun).
    (
        enter_cgroup "job_$JOB/step_0"
        as_user mpiexec.mpich -launcher fork -np 4 \
            sh -c 'exec env SLURM_JOB_ID='"$JOB"' SLURM_STEP_ID=0 SLURM_PROCID=$PMI_RANK SLURM_LOCALID=$PMI_RANK \
                "$0" --network=loopback --stdout pmi.$PMI_RANK --stderr pmi.$PMI_RANK.err \
                -- sh -c "readlink /proc/self/ns/pid; exec ./ring-mpich"' "$work/lifeboat-run"
    ) >"$work/job/hydra.log" 2>&1 || code=$?
    [ "$code" = 0 ] || fail "mpich-pmi: exit code $code: $(cat "$work/job/hydra.log" "$work/job"/pmi.*)"
    [ "$(for rank in 0 1 2 3; do head -n 1 "$work/job/pmi.$rank"; done | sort -u | wc -l)" = 1 ] ||
        fail "mpich-pmi: the ranks ran in several containers: $(head -qn 1 "$work/job"/pmi.[0-3])"
    for rank in 0 1 2 3; do sed -i 1d "$work/job/pmi.$rank"; done
    check_output mpich-pmi "" "$work/job/hydra.log" "$work/job"/pmi.*
    log "mpich-pmi: 4 launchers started by Hydra with PMI_FD, one container: '$EXPECTED', in $(elapsed "$started" "$(now)") s"
}

build openmpi || fail "Open MPI is not installed (testbed/deps.sh: openmpi-bin libopenmpi-dev)"
build mpich || fail "MPICH is not installed (testbed/deps.sh: mpich libmpich-dev)"
chown -R "$test_uid:$test_gid" "$work/job"
scenario_openmpi
scenario_mpich
scenario_mpich_pmi
echo "mpi-programs: 3 passed, 0 failed"
