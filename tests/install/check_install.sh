#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds a consumer against it two
# ways: CMake's find_package(ipcx) and pkg-config's ipcx.pc. Both must build and run.
set -euo pipefail
build=$1; src=$2
work=$(mktemp -d /tmp/ipcx-install-XXXXXX)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -x "$work/prefix/bin/ipcx"
test -f "$work/prefix/include/ipcx/channel.hpp"
lib=$(ls -d "$work"/prefix/lib*/ | head -1)
test -f "$lib/libipcx.a" && ls "$lib"/libipcx.so* >/dev/null

cmake -S "$src/tests/install/consumer" -B "$work/cmake-build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
test "$("$work/cmake-build/consumer")" = installed

export PKG_CONFIG_PATH="$lib/pkgconfig"
# shellcheck disable=SC2046
c++ "$src/tests/install/consumer/main.cpp" -o "$work/pc-consumer" $(pkg-config --cflags --libs ipcx) -lfmt
test "$(LD_LIBRARY_PATH="$lib" "$work/pc-consumer")" = installed
"$work/prefix/bin/ipcx" --help >/dev/null
echo "install: ok"
