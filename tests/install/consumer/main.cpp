// SPDX-License-Identifier: MIT
// A program outside the ipcx tree, built against the installed package.
#include <ipcx/channel.hpp>
#include <ipcx/pipe.hpp>

#include <cstdio>

int main() {
  auto p = ipcx::make_pipe();
  if (!p) return 1;
  if (!p->writer.send(ipcx::as_bytes("installed"))) return 2;
  auto m = p->reader.receive_message();
  if (!m) return 3;
  std::printf("%.*s\n", static_cast<int>(m->data.size()), reinterpret_cast<const char*>(m->data.data()));
  auto bad = ipcx::Channel::open("nope://x");
  return bad ? 4 : 0;
}
