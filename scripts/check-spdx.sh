#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every source, header, script and CMake file of ipcx names its licence on its first line
# (after a script's #! line). Prints the files that do not, and fails.
#   scripts/check-spdx.sh          check
#   scripts/check-spdx.sh --fix    add the line where it is missing
set -euo pipefail
cd "$(dirname "$0")/.."
tag="SPDX-License-Identifier: MIT"
fix=0
[[ "${1:-}" == "--fix" ]] && fix=1
missing=0
while IFS= read -r f; do
  if head -n 2 "$f" | grep -q "$tag"; then continue; fi
  if ((fix)); then
    case "$f" in
      *.c|*.cpp|*.h|*.hpp) line="// $tag" ;;
      *) line="# $tag" ;;
    esac
    if head -n 1 "$f" | grep -q '^#!'; then
      { head -n 1 "$f"; echo "$line"; tail -n +2 "$f"; } > "$f.spdx"
    else
      { echo "$line"; cat "$f"; } > "$f.spdx"
    fi
    chmod --reference="$f" "$f.spdx" && mv "$f.spdx" "$f"
  else
    echo "check-spdx: $f: no '$tag' on its first lines" >&2
    missing=1
  fi
done < <(git ls-files -- '*.c' '*.cpp' '*.h' '*.hpp' '*.sh' '*.cmake' '*CMakeLists.txt' scripts/ .ci/ |
         sort -u | while read -r f; do [[ -f "$f" ]] && echo "$f"; done)
exit $missing
