#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test.
#
#   ./test.sh          unit tests, then the integration tests against the real testbed cluster
#                      (Slurm, munge, CRIU, network namespaces), which is taken down afterwards
#   ./test.sh --unit   the fast unit tests alone (no root-only set-up beyond packages)
#
# Needs root (apt, namespaces, tmpfs, slurmd). Run as a user it re-runs itself through sudo.
set -euo pipefail
cd "$(dirname "$0")"

source testbed/lib.sh
rerun_as_root "$0" "$@"

unit_only=false
case "${1:-}" in
    "") ;;
    --unit) unit_only=true ;;
    *) echo "usage: $0 [--unit]" >&2; exit 2 ;;
esac

started=$SECONDS
testbed/deps.sh

if $unit_only; then
    make -C slurm-hooks check
    mvn package -Dtest.excludedGroups=integration
    echo "test.sh: unit tests passed in $((SECONDS - started)) s"
    exit 0
fi

testbed/criu.sh >/dev/null
make -C slurm-hooks all check
make -C launcher all tests/lifeboat-workload tests/lifeboat-workload-static
make -C launcher check
testbed/apptainer/test-double.sh
mvn package -DskipTests
packaging/rpm/check.sh
trap 'testbed/cluster.sh down' EXIT
testbed/cluster.sh up
mvn test
echo "test.sh: all tests passed in $((SECONDS - started)) s"
