#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the build tree into a temporary prefix, then builds consumers against it as a
# user would: CMake's find_package(ipcx), and pkg-config's ipcx.pc for a C++ program and for
# C11 programs (tests/c/c_api_c11.c, every area of the C API; c_api_objects_c11.c, the calls
# below the Channel) with gcc and clang-19. All
# must build and run, and agree on the one library that was built. A shared library is found
# at run time through the rpath that docs/c-api.md tells users to pass (no LD_LIBRARY_PATH);
# a static one links with `pkg-config --static` alone. (check_subproject.sh: ipcx as a
# subproject.)
#   check_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1; src=$2
work=$(mktemp -d /tmp/ipcx-install-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "install: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/prefix" >/dev/null
prefix=$work/prefix
test -x "$prefix/bin/ipcx" || fail "no bin/ipcx"
test -f "$prefix/include/ipcx/channel.hpp" || fail "no include/ipcx/channel.hpp"
test -f "$prefix/include/ipcx/version.h" || fail "no include/ipcx/version.h (generated)"
test -f "$prefix/share/man/man1/ipcx.1" || fail "no man page"
# The C API's man pages: the overview, and a function's page that sources its header's.
test -f "$prefix/share/man/man3/ipcx.3" || fail "no man3/ipcx.3"
test "$(cat "$prefix/share/man/man3/ipcx_open.3")" = ".so man3/ipcx_channel.3" || fail "man3/ipcx_open.3 does not source ipcx_channel.3"
test -f "$prefix/share/man/man3/ipcx_channel.3" || fail "no man3/ipcx_channel.3"
test -f "$prefix/share/bash-completion/completions/ipcx" || fail "no bash completion"
test -f "$prefix/share/zsh/site-functions/_ipcx" || fail "no zsh completion"
test -f "$prefix/share/fish/vendor_completions.d/ipcx.fish" || fail "no fish completion"
# The benchmark is installed only when asked (IPCX_INSTALL_BENCH).
if [[ -e "$prefix/libexec/ipcx/ipcx-bench" ]] &&
   ! grep -q '^IPCX_INSTALL_BENCH:BOOL=ON' "$build/CMakeCache.txt"; then
  fail "ipcx-bench installed without IPCX_INSTALL_BENCH"
fi

# One library: the static or the shared one, as BUILD_SHARED_LIBS chose.
lib=$(ls -d "$prefix"/lib*/ | head -1)
pc_static=()
if grep -q '^BUILD_SHARED_LIBS:BOOL=ON' "$build/CMakeCache.txt"; then
  ls "$lib"/libipcx.so.* >/dev/null || fail "no libipcx.so"
  test ! -e "$lib/libipcx.a" || fail "libipcx.a built beside the shared library"
else
  test -f "$lib/libipcx.a" || fail "no libipcx.a"
  ! ls "$lib"/libipcx.so* >/dev/null 2>&1 || fail "libipcx.so built beside the static library"
  pc_static=(--static)
fi
# fmt is private: ipcx::ipcx may need it at link time (a static library), never to compile.
targets=$(cat "$lib"/cmake/ipcx/ipcxTargets.cmake)
grep -q 'INTERFACE_LINK_LIBRARIES' <<<"$targets" || fail "no ipcxTargets.cmake link interface"
if grep 'INTERFACE_LINK_LIBRARIES' <<<"$targets" | sed 's/\$<LINK_ONLY:fmt::fmt>//' | grep -q fmt; then
  fail "fmt is in ipcx::ipcx's compile interface"
fi

"$prefix/bin/ipcx" --help >/dev/null
test "$("$prefix/bin/ipcx" --version)" = "ipcx $(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")" ||
  fail "ipcx --version: $("$prefix/bin/ipcx" --version)"

want="installed $("$prefix/bin/ipcx" --version | cut -d' ' -f2)"
run() { LD_LIBRARY_PATH="$lib" "$@"; }

cmake -S "$src/tests/install/consumer" -B "$work/cmake-build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
test "$(run "$work/cmake-build/consumer")" = "$want" || fail "find_package consumer"
test "$(run "$work/cmake-build/consumer_c")" = "ipcx ${want#installed }" || fail "find_package C consumer"

export PKG_CONFIG_PATH="$lib/pkgconfig"
cflags=$(pkg-config --cflags ipcx)
case " $cflags " in *-std=*) echo "install: pkg-config --cflags carries a language standard: $cflags" >&2; exit 1 ;; esac
rpath="-Wl,-rpath,$(pkg-config --variable=libdir ipcx)"

# C++ (the program chooses its own standard).
# shellcheck disable=SC2046
c++ -std=c++23 "$src/tests/install/consumer/main.cpp" -o "$work/pc-consumer" $(pkg-config "${pc_static[@]}" --cflags --libs ipcx) "$rpath"
test "$(env -u LD_LIBRARY_PATH "$work/pc-consumer")" = "$want" || fail "pkg-config consumer"

# C11, the command a C programmer types, with both compilers; then run it.
c_tests="c_api_c11 c_api_objects_c11"
for cc in gcc clang-19; do
  command -v "$cc" >/dev/null || fail "$cc not found"
  for t in $c_tests; do
    # shellcheck disable=SC2046
    "$cc" -std=c11 -Wall -Werror "$src/tests/c/$t.c" -o "$work/$t-$cc" $(pkg-config "${pc_static[@]}" --cflags --libs ipcx) "$rpath"
    env -u LD_LIBRARY_PATH "$work/$t-$cc" >/dev/null || fail "$t built with $cc"
    if [[ ${#pc_static[@]} -gt 0 ]] && ldd "$work/$t-$cc" | grep -q libipcx; then
      fail "the static link of $t still needs libipcx.so"
    fi
  done
done

echo "install: ok"
