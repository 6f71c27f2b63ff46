// SPDX-License-Identifier: MIT
// A program outside the ipcx tree, built against the installed package or ipcx as a
// subproject. Prints "installed VERSION"; any other output or a non-zero exit is a failure.
#include <ipcx/channel.hpp>
#include <ipcx/pipe.hpp>
#include <ipcx/version.hpp>

#include <cstdio>

static_assert(IPCX_VERSION_NUMBER == IPCX_VERSION_MAJOR * 10000 + IPCX_VERSION_MINOR * 100 + IPCX_VERSION_PATCH);

int main() {
  auto p = ipcx::make_pipe();
  if (!p) return 1;
  if (!p->writer.send(ipcx::as_bytes("installed"))) return 2;
  auto m = p->reader.receive_message();
  if (!m) return 3;
  auto bad = ipcx::Channel::open("nope://x");
  if (bad) return 4;
  if (ipcx::version() != IPCX_VERSION_STRING) return 5;
  std::printf("%.*s %s\n", static_cast<int>(m->data.size()), reinterpret_cast<const char*>(m->data.data()),
              IPCX_VERSION_STRING);
  return 0;
}
