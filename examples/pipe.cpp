// SPDX-License-Identifier: MIT
// A parent and its child talking over a pair of pipes, one message at a time.
//   $ ./example_cpp_pipe
//   parent got: "pong 0" ... "pong 2"; child gone: peer gone
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "ipcx/pipe.hpp"

int main() {
  using namespace std::chrono_literals;
  auto duplex = ipcx::make_duplex_pipe();
  if (!duplex) {
    std::fprintf(stderr, "%s\n", duplex.error().message().c_str());
    return 1;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    duplex->first = {};  // the child keeps the second end only
    for (;;) {
      auto m = duplex->second.receive_message_for(5s);
      if (!m) _exit(m.error().peer_gone() ? 0 : 1);  // parent done: leave
      std::string reply = "pong " + std::string(m->text().substr(5));
      if (!duplex->second.send(ipcx::as_bytes(reply))) _exit(1);
    }
  }
  duplex->second = {};
  for (int i = 0; i < 3; ++i) {
    std::string ping = "ping " + std::to_string(i);
    if (auto s = duplex->first.send(ipcx::as_bytes(ping)); !s) {
      std::fprintf(stderr, "%s\n", s.error().message().c_str());
      return 1;
    }
    auto m = duplex->first.receive_message_for(5s);
    if (!m) {
      std::fprintf(stderr, "%s\n", m.error().message().c_str());
      return 1;
    }
    std::printf("parent got: \"%.*s\"\n", static_cast<int>(m->data.size()), m->text().data());
  }
  duplex->first = {};  // closing our end tells the child we are done
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
