#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds ipcx and runs every test. Installs its own Debian dependencies first.
#   scripts/test.sh            g++ 12, warnings as errors, all tests
#   scripts/test.sh --asan     clang 19, ASan + UBSan, all tests
#   scripts/test.sh --tsan     clang 19, TSan, all tests
# The host's IPC objects (SysV tables, /dev/shm, /dev/mqueue) are compared before and
# after the run: a test that leaves one behind fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

variant=${1:-default}
cmake_args=(-G Ninja -DIPCX_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
# The stress label (200 kills per mechanism, 10 million messages per channel) is run by
# hand: `ctest --test-dir build -L stress` (docs/reliability.md).
ctest_args=(--output-on-failure -j2 --timeout 300 -LE stress)
case "$variant" in
  default) build=build ;;
  --asan)
    build=build-asan
    cmake_args+=(-DCMAKE_CXX_COMPILER=clang++-19 -DCMAKE_C_COMPILER=clang-19 "-DIPCX_SANITIZE=address,undefined"
                 -DIPCX_BUILD_BENCH=OFF -DIPCX_FUZZ=ON)
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ;;
  --tsan)
    build=build-tsan
    cmake_args+=(-DCMAKE_CXX_COMPILER=clang++-19 -DCMAKE_C_COMPILER=clang-19 -DIPCX_SANITIZE=thread
                 -DIPCX_BUILD_BENCH=OFF)
    export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/sanitizers/tsan.supp ;;
  *) echo "usage: scripts/test.sh [--asan|--tsan]" >&2; exit 2 ;;
esac

# POSIX message queues are listed (and checked for leaks) through their filesystem.
if [[ $(id -u) -eq 0 ]] && ! mountpoint -q /dev/mqueue 2>/dev/null; then
  mkdir -p /dev/mqueue && mount -t mqueue none /dev/mqueue || true
fi

# No raw system call outside src/sys/ (a source check: it needs no build).
scripts/check-syscalls.sh
scripts/check-spdx.sh

cmake -S . -B "$build" "${cmake_args[@]}" >/dev/null
cmake --build "$build" -j2

snapshot() {
  { ipcs -a 2>/dev/null | grep -E '^0x' | awk '{print $1, $2}'
    ls -1 /dev/shm 2>/dev/null | sed 's|^|shm |'
    ls -1 /dev/mqueue 2>/dev/null | sed 's|^|mq |'; } | sort
}
before=$(snapshot)
status=0
ctest --test-dir "$build" "${ctest_args[@]}" || status=$?
after=$(snapshot)
leaked=$(comm -13 <(echo "$before") <(echo "$after") || true)
if [[ -n "$leaked" ]]; then
  echo "test.sh: the tests left IPC objects on the host:" >&2
  echo "$leaked" >&2
  status=1
fi
exit $status
