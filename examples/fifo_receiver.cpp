// Receives messages on a FIFO until the sender goes away; pair it with the CLI:
//   $ ./example_fifo_receiver /tmp/demo &
//   $ ipcx send fifo:///tmp/demo hello world
#include <chrono>
#include <cstdio>
#include <string>

#include "ipcx/channel.hpp"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  std::string path = argc > 1 ? argv[1] : "/tmp/ipcx-example-fifo";
  auto ch = ipcx::Channel::open("fifo://" + path + "?remove=1");
  if (!ch) {
    std::fprintf(stderr, "%s\n", ch.error().message().c_str());
    return 1;
  }
  for (;;) {
    auto m = ch->receive_message_for(30s);
    if (!m) {
      if (m.error().peer_gone()) return 0;
      std::fprintf(stderr, "%s\n", m.error().message().c_str());
      return 1;
    }
    std::printf("%.*s\n", static_cast<int>(m->data.size()), m->text().data());
  }
}
