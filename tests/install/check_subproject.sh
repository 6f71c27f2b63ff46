#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the consumer with ipcx as a subproject (add_subdirectory of the source tree, as
# FetchContent does): the library and the CLI are there, the tests, benchmark and examples
# are not, and the consumer builds and runs.
#   check_subproject.sh BUILD_DIR SOURCE_DIR   (BUILD_DIR: whose compilers to use)
set -euo pipefail
build=$1; src=$2
work=$(mktemp -d /tmp/ipcx-subproject-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "subproject: $*" >&2; exit 1; }
want="installed $(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")"

# ipcx as a subproject: the library and the CLI, no tests, benchmark or examples.
# Paths relative to / keep ccache hits across the random work directory.
CCACHE_BASEDIR=/ CCACHE_NOHASHDIR=true \
  cmake -S "$src/tests/install/consumer" -B "$work/sub-build" -G Ninja -DIPCX_SOURCE_DIR="$src" \
  -DCMAKE_CXX_COMPILER="$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")" \
  -DCMAKE_C_COMPILER="$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")" >/dev/null
CCACHE_BASEDIR=/ CCACHE_NOHASHDIR=true cmake --build "$work/sub-build" --target consumer consumer_c >/dev/null
test "$("$work/sub-build/consumer")" = "$want" || fail "add_subdirectory consumer"
test "$("$work/sub-build/consumer_c")" = "ipcx ${want#installed }" || fail "add_subdirectory C consumer"
echo "subproject: ok"
