#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The benchmark, from a fresh clone: installs the peer libraries and gnuplot, builds
# ipcx and ipcx-bench (Release), and prints the table of every IPC mechanism and peer
# library measured side by side on this host.
#   scripts/bench.sh                 ipcx bench --quick (about a minute)
#   scripts/bench.sh ARGS...         ipcx bench ARGS..., e.g. the full run:
#   scripts/bench.sh --json bench.json --csv bench.csv --plot plots
# Method and options: docs/benchmark.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --bench

build=build-release
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DIPCX_BUILD_TESTS=OFF -DIPCX_BUILD_EXAMPLES=OFF -DIPCX_BUILD_BENCH=ON >/dev/null
echo "bench.sh: building ipcx and ipcx-bench in $build/ (log: $build/build.log)" >&2
if ! cmake --build "$build" -j"$(nproc)" --target ipcx_cli ipcx-bench >"$build/build.log" 2>&1; then
  tail -n 40 "$build/build.log" >&2
  echo "bench.sh: the build failed; the whole log is $build/build.log" >&2
  exit 1
fi

if (($# == 0)); then
  set -- --quick
fi
exec "$build/bin/ipcx" bench "$@"
