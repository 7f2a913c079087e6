#!/usr/bin/env bash
# Migration benchmark against link speed, memory size and contents, with a CRIU-only baseline
# (a benchmark, not a test: it prints figures and asserts nothing). See bench/link_benchmark.py.
#
#   bench/link-benchmark.sh            every link (unlimited 10gbit 1gbit), 256 and 1024 MiB,
#                                      random and half-zero memory, 4 modes, 3 runs each
#   LINKS=1gbit SIZES=256 RUNS=3 bench/link-benchmark.sh     a subset
#   STORAGE=local ...                  shared-fs on this machine's disk instead of a file server
#                                      behind a 100 MB/s link (800mbit)
#
# Writes bench/results/link-benchmark.json (every run) and .png (median time against size).
set -euo pipefail
cd "$(dirname "$0")/.."
source testbed/lib.sh
rerun_as_root "$0" "$@"

source bench/lib.sh
prepare_benchmark
CRIU=$(testbed/criu.sh) exec /usr/bin/python3 bench/link_benchmark.py
