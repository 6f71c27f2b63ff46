#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks the generated C API man pages: every function declared in include/ipcx/c/*.h has
# a page (so docs/c-api.md, which they are made from, documents every one), every page
# that sources another finds it, and groff renders each without a warning.
#   man/check_c_api_man.sh SOURCE_DIR MAN3_DIR
set -euo pipefail
src=$1; man3=$2
fail=0
# Declarations start in column 0 with their type; comments and continuations do not.
mapfile -t functions < <(grep -hE '^[a-z].*\bipcx_[a-z0-9_]+\(' "$src"/include/ipcx/c/*.h |
                         grep -oE '\bipcx_[a-z0-9_]+\(' | tr -d '(' | sort -u)
[[ ${#functions[@]} -gt 100 ]] || { echo "c_api_man: found only ${#functions[@]} declarations" >&2; exit 1; }
for f in "${functions[@]}"; do
  if [[ ! -f "$man3/$f.3" ]]; then
    echo "c_api_man: $f is declared but has no page: document it in docs/c-api.md" >&2
    fail=1
  fi
done
for p in "$man3"/*.3; do
  if target=$(sed -n 's/^\.so //p' "$p") && [[ -n $target ]]; then
    [[ -f "$man3/../$target" ]] || { echo "c_api_man: $p sources $target, which does not exist" >&2; fail=1; }
  elif command -v groff >/dev/null; then
    out=$(groff -man -ww -z -Tutf8 "$p" 2>&1)
    [[ -z $out ]] || { echo "c_api_man: groff warns on $p:" >&2; echo "$out" >&2; fail=1; }
  fi
done
[[ $fail -eq 0 ]] && echo "c_api_man: ${#functions[@]} functions, each with a page"
exit $fail
