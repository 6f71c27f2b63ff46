#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the build tree into a temporary prefix, then builds consumers against it as a
# user would: CMake's find_package(ipcx), and pkg-config's ipcx.pc for a C++ program and for
# C11 programs (tests/c/c_api_c11.c, every area of the C API; c_api_objects_c11.c, the calls
# below the Channel) with gcc and clang-19. The shared library is found at run time through
# the rpath that docs/c-api.md tells users to pass (no LD_LIBRARY_PATH); `pkg-config --static` links the static library alone.
set -euo pipefail
build=$1; src=$2
work=$(mktemp -d /tmp/ipcx-install-XXXXXX)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -x "$work/prefix/bin/ipcx"
test -f "$work/prefix/include/ipcx/channel.hpp"
test -f "$work/prefix/include/ipcx/ipcx.h"
test -f "$work/prefix/include/ipcx/c/sync.h"
# The C API's man pages: the overview, and a function's page that sources its header's.
test -f "$work/prefix/share/man/man3/ipcx.3"
test "$(cat "$work/prefix/share/man/man3/ipcx_open.3")" = ".so man3/ipcx_channel.3"
test -f "$work/prefix/share/man/man3/ipcx_channel.3"
lib=$(ls -d "$work"/prefix/lib*/ | head -1)
lib=${lib%/}
test -f "$lib/libipcx.a" && ls "$lib"/libipcx.so* >/dev/null

cmake -S "$src/tests/install/consumer" -B "$work/cmake-build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
test "$("$work/cmake-build/consumer")" = installed

export PKG_CONFIG_PATH="$lib/pkgconfig"
cflags=$(pkg-config --cflags ipcx)
case " $cflags " in *-std=*) echo "install: pkg-config --cflags carries a language standard: $cflags" >&2; exit 1 ;; esac
rpath="-Wl,-rpath,$(pkg-config --variable=libdir ipcx)"

# C++ (the program chooses its own standard).
# shellcheck disable=SC2046
c++ -std=c++23 "$src/tests/install/consumer/main.cpp" -o "$work/pc-consumer" $(pkg-config --cflags --libs ipcx) "$rpath"
test "$(env -u LD_LIBRARY_PATH "$work/pc-consumer")" = installed

# C11, the command a C programmer types, with both compilers; then run it.
c_tests="c_api_c11 c_api_objects_c11"
for cc in gcc clang-19; do
  command -v "$cc" >/dev/null || { echo "install: $cc not found" >&2; exit 1; }
  for t in $c_tests; do
    # shellcheck disable=SC2046
    "$cc" -std=c11 -Wall -Werror "$src/tests/c/$t.c" -o "$work/$t-$cc" $(pkg-config --cflags --libs ipcx) "$rpath"
    env -u LD_LIBRARY_PATH "$work/$t-$cc" >/dev/null
  done
done

# Static: a prefix holding only libipcx.a, as a static-only install has it; the C program
# links with `pkg-config --static` alone and needs no libipcx.so at run time.
cp -a "$work/prefix" "$work/static"
rm -f "$work/static/${lib#"$work/prefix/"}"/libipcx.so*
export PKG_CONFIG_PATH="$work/static/${lib#"$work/prefix/"}/pkgconfig"
for t in $c_tests; do
  # shellcheck disable=SC2046
  gcc -std=c11 -Wall -Werror "$src/tests/c/$t.c" -o "$work/$t-static" $(pkg-config --static --cflags --libs ipcx)
  if ldd "$work/$t-static" | grep -q libipcx; then echo "install: the static link still needs libipcx.so" >&2; exit 1; fi
  "$work/$t-static" >/dev/null
done

"$work/prefix/bin/ipcx" --help >/dev/null
echo "install: ok"
