#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the code blocks that README.md and docs/*.md mark as runnable, so that what they
# show works when pasted:
#   ```sh runnable     a shell script, run with bash -e and the build's bin/ first on PATH
#   ```cpp runnable    a C++ program (with main), compiled against the build's library and run
#   ```c runnable      a C program, likewise
# A block must finish in 60 s, exit 0, and leave nothing behind. So that blocks can use
# plain names and still run beside other tests, the runner gives each block its own
# directory for /tmp/ and makes every name that contains "demo" unique (demo -> demo-PID-N);
# the leak check looks for those names in that directory, /dev/shm and /dev/mqueue.
#   run_snippets.sh BUILD_DIR SOURCE_DIR LIBRARY CXX CC FILE...
set -uo pipefail
build=$1 src=$2 library=$3 cxx=$4 cc=$5
shift 5
work=$(mktemp -d /tmp/ipcx-docs-XXXXXX)
trap 'rm -rf "$work"' EXIT
trap 'exit 143' TERM INT  # so that the EXIT trap cleans up
export PATH="$build/bin:$PATH"
failed=0 ran=0

# The link line for a program using the library as built (static or shared): what a static
# libipcx.a needs is the build's ipcx.pc Libs.private (fmt, and nats/zmq when built in), so
# the list is kept in one place; for a shared library the extra names are harmless.
read -ra private <<< "$(sed -n 's/^Libs.private: //p' "$build/ipcx.pc")"
link=("$library" "${private[@]}" -pthread "-Wl,-rpath,$(dirname "$library")")

run_block() {  # file line lang body-file
  local file=$1 line=$2 lang=$3 body=$4 n=$5
  local tag="demo-$$-$n" dir="$work/b$n"
  mkdir -p "$dir/tmp"
  sed -i "s|/tmp/|$dir/tmp/|g; s|demo|$tag|g" "$body"
  local what="$file:$line ($lang)" rc=0 out
  case $lang in
    sh) out=$(cd "$dir" && timeout 60 bash -e "$body" 2>&1) || rc=$? ;;
    cpp)
      out=$("$cxx" -std=c++23 -x c++ "$body" -x none -I"$src/include" -I"$build/include" -o "$dir/prog" "${link[@]}" 2>&1) &&
        out=$(cd "$dir" && timeout 60 "$dir/prog" 2>&1) || rc=$? ;;
    c)
      out=$("$cc" -std=c11 -D_POSIX_C_SOURCE=200809L -x c -c "$body" -I"$src/include" -I"$build/include" -o "$dir/prog.o" 2>&1) &&
        out=$("$cxx" "$dir/prog.o" -o "$dir/prog" "${link[@]}" 2>&1) &&
        out=$(cd "$dir" && timeout 60 "$dir/prog" 2>&1) || rc=$? ;;
  esac
  local left
  left=$(find "$dir/tmp" -mindepth 1 2>/dev/null; ls /dev/shm /dev/mqueue 2>/dev/null | grep -F -- "$tag")
  if ((rc != 0)); then
    echo "FAIL $what: exit $rc"; echo "$out" | sed 's/^/  | /'; failed=1
  elif [[ -n $left ]]; then
    echo "FAIL $what: left behind:"; echo "$left" | sed 's/^/  | /'; failed=1
    find "$dir/tmp" -mindepth 1 -delete 2>/dev/null
    for f in $(ls /dev/shm /dev/mqueue 2>/dev/null | grep -F -- "$tag"); do rm -f "/dev/shm/$f" "/dev/mqueue/$f"; done
  else
    echo "ok   $what"
  fi
}

n=0
for file in "$@"; do
  rel=${file#"$src"/}
  # Each runnable block into its own file: "LINE LANG" on the first line of the listing.
  while IFS=' ' read -r line lang; do
    n=$((n + 1)); ran=$((n))
    body="$work/block$n"
    awk -v start="$line" 'NR > start { if ($0 ~ /^```/) exit; print }' "$file" > "$body"
    run_block "$rel" "$line" "$lang" "$body" "$n"
  done < <(awk '/^```(sh|cpp|c) runnable *$/ { split($0, a, /[` ]+/); print NR, a[2] }' "$file")
done
if ((ran == 0)); then
  echo "no runnable blocks found in: $*"
  exit 1
fi
exit $failed
