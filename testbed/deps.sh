#!/usr/bin/env bash
# Installs, with apt, every Debian package the build, the testbed and the tests need.
# Packages already present are not touched, so a second run costs about a second.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root

PACKAGES=(
    # build
    openjdk-17-jdk-headless maven gcc make
    # the cluster
    munge slurmctld slurmd slurm-client libslurm-dev
    # host plumbing: namespaces, links, shaping
    iproute2 util-linux procps psmisc python3 iputils-arping
    # a network file server for the shared directory (cluster.sh storage network): sshfs mounts
    # of an sftp-server that socat serves
    sshfs socat openssh-sftp-server
    # real Prometheus and Alertmanager: the failure-predictor adapter's test, promtool's checks of the
    # rules, config, dashboard queries and a real agent's scrape, MetricsDashboardTest against the
    # testbed's agents (if systemd starts the packaged services, they take ports 9090, 9093 and 9094,
    # which nothing here uses)
    prometheus prometheus-alertmanager
    # the Apptainer test double (testbed/apptainer): real SIF images and their squashfs
    siftool squashfs-tools busybox-static
    # the RPMs (packaging/rpm): rpmbuild and rpmlint; the check's tools (tmpfiles, unit verify, /health)
    rpm rpmlint unzip systemd curl
    # real MPI jobs (MpiJobsTest): Debian's Open MPI and MPICH, and their compilers
    openmpi-bin libopenmpi-dev mpich libmpich-dev
    # building CRIU 4.1.1 (Debian 12's CRIU 3.17 fails on current kernels, see README)
    dpkg-dev xz-utils pkg-config libbsd-dev libcap-dev libgnutls28-dev libnet1-dev libnftables-dev
    libnl-3-dev libprotobuf-c-dev libprotobuf-dev protobuf-c-compiler protobuf-compiler
    python3-protobuf uuid-dev
)

missing=()
for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    log "all ${#PACKAGES[@]} Debian packages present"
    exit 0
fi
log "installing ${missing[*]}"
apt-get update -q
# On a machine with systemd the packaged slurmctld, slurmd and munge units may start with the
# system's own configuration; the testbed's daemons use their own ports and munge socket, so
# they do not collide.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
