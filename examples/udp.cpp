// SPDX-License-Identifier: MIT
// UDP (C++): the server binds port 0 and reports the port it got (ipcx::local_url); a
// forked client opens that URL (an ephemeral port of its own, connected to the server),
// sends three requests and reads the replies, each with a deadline: on a real network a
// datagram can be lost, duplicated or reordered, and UDP does not retry.
//   $ ./example_cpp_udp
//   server on udp://127.0.0.1:51234; client got "re: 0" "re: 1" "re: 2"
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "ipcx/channel.hpp"
#include "ipcx/socket.hpp"

int main() {
  using namespace std::chrono_literals;
  auto server = ipcx::Channel::bind("udp://127.0.0.1:0");
  if (!server) return std::fprintf(stderr, "%s\n", server.error().message().c_str()), 1;
  auto url = ipcx::local_url(*server);
  if (!url) return std::fprintf(stderr, "%s\n", url.error().message().c_str()), 1;
  std::printf("server on %s; ", url->c_str());
  std::fflush(stdout);

  pid_t pid = ::fork();
  if (pid == 0) {
    auto c = ipcx::Channel::open(*url);
    if (!c) _exit(1);
    std::printf("client got");
    for (int i = 0; i < 3; ++i) {
      if (!c->send_for(ipcx::as_bytes(std::to_string(i)), 5s)) _exit(2);
      auto m = c->receive_message_for(5s);
      if (!m) _exit(3);
      std::printf(" \"%.*s\"", static_cast<int>(m->data.size()), m->text().data());
    }
    std::printf("\n");
    std::fflush(stdout);  // _exit does not flush stdio
    _exit(0);
  }
  for (int i = 0; i < 3; ++i) {
    auto req = server->receive_message_for(5s);
    if (!req) return std::fprintf(stderr, "%s\n", req.error().message().c_str()), 1;
    if (auto s = server->send_for(ipcx::as_bytes("re: " + std::string(req->text())), 5s); !s)
      return std::fprintf(stderr, "%s\n", s.error().message().c_str()), 1;
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
