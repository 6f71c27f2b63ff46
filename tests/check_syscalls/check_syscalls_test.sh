#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs scripts/check-syscalls.sh on its fixtures: it must report exactly the lines marked RAW
# in raw_calls.cpp (file:line and the call) and accept clean.cpp.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
check=scripts/check-syscalls.sh
fixture=tests/check_syscalls/raw_calls.cpp
status=0

out=$("$check" "$fixture" 2>&1) && { echo "FAIL: $fixture passed the check"; status=1; }
want=$(grep -n '// RAW' "$fixture" | cut -d: -f1 | sed "s|^|$fixture:|")
got=$(echo "$out" | grep -oE "^$fixture:[0-9]+" || true)
if [[ "$want" != "$got" ]]; then
  echo "FAIL: reported lines differ from the RAW lines"
  echo "want:"; echo "$want"; echo "got:"; echo "$out"
  status=1
fi
for call in socket read close eventfd shutdown fcntl; do
  echo "$out" | grep -q "raw system call $call()" || { echo "FAIL: $call() not named"; status=1; }
done

if ! out=$("$check" tests/check_syscalls/clean.cpp 2>&1); then
  echo "FAIL: clean.cpp was rejected:"; echo "$out"; status=1
fi
[[ $status -eq 0 ]] && echo "check-syscalls: fixtures behave"
exit $status
