#!/usr/bin/env bash
# Post-copy against diskless: frozen time, time until every page crossed, and the job's progress
# while its memory follows it (a benchmark, not a test: it prints figures and asserts nothing).
# See bench/post_copy.py.
#
#   bench/post-copy-benchmark.sh       every link (unlimited 10gbit 1gbit), 256, 1024 and 4096 MiB,
#                                      random and half-zero memory, 1 run of each combination
#   LINKS="unlimited 1gbit" CONTENTS=random RUNS=3 bench/post-copy-benchmark.sh     a subset
#   COMBINATIONS="post-copy/small post-copy/touch-all" ...     which mode/workload pairs
#
# Writes bench/results/post-copy-benchmark.json (every run) and .png (frozen time and time until
# every page crossed, against size, per link).
set -euo pipefail
cd "$(dirname "$0")/.."
source testbed/lib.sh
rerun_as_root "$0" "$@"

source bench/lib.sh
prepare_benchmark
CRIU=$(testbed/criu.sh) exec /usr/bin/python3 bench/post_copy.py "$@"
