// SPDX-License-Identifier: MIT
// TCP (C++): a server listens on 127.0.0.1 port 0 and reports the port the kernel chose
// (Listener::local_url); a forked client connects and sends two messages, the server
// echoes them until the client closes (peer_gone). Messages are length-framed over the
// byte stream, so each arrives whole.
//   $ ./example_cpp_tcp
//   listening on tcp://127.0.0.1:41234; client got "echo: hello" "echo: world"
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "ipcx/channel.hpp"

int main() {
  using namespace std::chrono_literals;
  auto l = ipcx::Listener::listen("tcp://127.0.0.1:0");
  if (!l) return std::fprintf(stderr, "%s\n", l.error().message().c_str()), 1;
  const std::string url = l->local_url();
  std::printf("listening on %s; ", url.c_str());
  std::fflush(stdout);

  pid_t pid = ::fork();
  if (pid == 0) {
    auto c = ipcx::Channel::open(url);
    if (!c) _exit(1);
    std::printf("client got");
    for (const char* w : {"hello", "world"}) {
      if (!c->send_for(ipcx::as_bytes(w), 5s)) _exit(2);
      auto m = c->receive_message_for(5s);
      if (!m) _exit(3);
      std::printf(" \"%.*s\"", static_cast<int>(m->data.size()), m->text().data());
    }
    std::printf("\n");
    std::fflush(stdout);  // _exit does not flush stdio
    _exit(0);
  }
  auto c = l->accept_for(5s);
  if (!c) return std::fprintf(stderr, "%s\n", c.error().message().c_str()), 1;
  ipcx::Error last;
  for (;;) {
    auto m = c->receive_message_for(5s);
    if (!m) {
      last = m.error();
      break;
    }
    if (auto s = c->send_for(ipcx::as_bytes("echo: " + std::string(m->text())), 5s); !s) {
      last = s.error();
      break;
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return last.peer_gone() && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
