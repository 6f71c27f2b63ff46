#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The suite's host check, a CTest fixture (tests/CMakeLists.txt):
#   host_check.sh setup STAMP   notes when the run began
#   host_check.sh check STAMP   fails if an object the suite made outlived its maker
# Every name a test makes carries "ipcxt-<pid>-" (tests/support/), and every SysV key
# 0x40000000 | (pid & 0x3fffff) << 8 | n. The check lists those whose pid no longer runs
# and that were made since the setup: in /tmp (files, FIFOs, socket files), /dev/shm
# (segments, rings, named semaphores), /dev/mqueue, the Unix socket table (abstract names
# too) and the SysV tables. A live pid is another run still working (CTest runs tests in
# parallel, and other builds may share the host): its objects are not this run's to judge.
set -euo pipefail
mode=${1:?setup|check} stamp=${2:?stamp file}

if [[ $mode == setup ]]; then
  date +%s > "$stamp"
  exit 0
fi
since=$(cat "$stamp" 2>/dev/null || echo 0)
left=()

dead() { [[ ! -d /proc/$1 ]]; }
pid_of() { sed -nE 's/.*ipcxt-([0-9]+)-.*/\1/p' <<<"$1"; }

for dir in /tmp /dev/shm /dev/mqueue; do
  for f in "$dir"/*ipcxt-*; do
    [[ -e $f || -L $f ]] || continue
    pid=$(pid_of "$f")
    [[ -n $pid ]] && dead "$pid" || continue
    made=$(stat -c %Z "$f" 2>/dev/null || echo 0)
    (( made >= since )) && left+=("$f (made by pid $pid, which has exited)")
  done
done

while read -r name; do
  pid=$(pid_of "$name")
  [[ -n $pid ]] && dead "$pid" && left+=("unix socket $name (pid $pid has exited)")
done < <(awk 'NR > 1 && $NF ~ /ipcxt-/ { print $NF }' /proc/net/unix | sort -u)

# SysV: the key's pid bits and the ctime column, found by the header's names.
for table in msg shm sem; do
  [[ -r /proc/sysvipc/$table ]] || continue
  while read -r key id ctime; do
    k=$((key & 0xffffffff))
    (( (k & 0xc0000000) == 0x40000000 )) || continue
    pid=$(( (k >> 8) & 0x3fffff ))
    dead "$pid" && (( ctime >= since )) && left+=("sysv $table key $(printf '0x%08x' "$k") id $id (pid $pid has exited)")
  done < <(awk 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "ctime") c = i; next } { print $1, $2, $c }' /proc/sysvipc/$table)
done

if (( ${#left[@]} )); then
  echo "host_check: the suite left these behind:" >&2
  printf '  %s\n' "${left[@]}" >&2
  exit 1
fi
echo "host_check: nothing the suite made is left on the host"
