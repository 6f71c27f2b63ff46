#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages ipcx needs. Safe to run again: it installs only what is missing.
#   scripts/deps.sh          build + test dependencies
#   scripts/deps.sh --bench  also the peer libraries and the plotting tool the benchmark uses
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config ccache
      libfmt-dev libcli11-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
      clang-19 libclang-rt-19-dev
      socat netcat-openbsd util-linux procps iproute2
      # nats:// and zmq+…:// Channels (IPCX_WITH_NATS / IPCX_WITH_ZMQ) and the nats-server
      # their tests start on 127.0.0.1
      libnats-dev libzmq3-dev nats-server)
if [[ "${1:-}" == "--bench" ]]; then
  pkgs+=(libboost-dev libnng-dev gnuplot-nox
         iceoryx libiceoryx-posh-dev libiceoryx-hoofs-dev libiceoryx-binding-c-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
