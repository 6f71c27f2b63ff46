// SPDX-License-Identifier: MIT
// A Unix datagram socket (C++): the server binds an abstract name (no file; gone with the
// socket) and answers each datagram to its sender; a forked client opens the name — ipcx
// binds it an automatic address so replies come back — and makes three requests. One
// datagram is one message; a message larger than the buffer is an error, never cut.
//   $ ./example_cpp_unix_dgram
//   client: "re: ping 0" "re: ping 1" "re: ping 2"
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "ipcx/channel.hpp"

int main() {
  using namespace std::chrono_literals;
  const std::string url = "unixgram:@ipcx-example-" + std::to_string(::getpid());
  auto server = ipcx::Channel::bind(url);  // bound before the fork
  if (!server) return std::fprintf(stderr, "%s\n", server.error().message().c_str()), 1;

  pid_t pid = ::fork();
  if (pid == 0) {
    *server = ipcx::Channel();  // the child does not serve
    auto c = ipcx::Channel::open(url);
    if (!c) _exit(1);
    std::printf("client:");
    for (int i = 0; i < 3; ++i) {
      if (!c->send_for(ipcx::as_bytes("ping " + std::to_string(i)), 5s)) _exit(2);
      auto rep = c->receive_message_for(5s);
      if (!rep) _exit(3);
      std::printf(" \"%.*s\"", static_cast<int>(rep->data.size()), rep->text().data());
    }
    std::printf("\n");
    std::fflush(stdout);  // _exit does not flush stdio
    _exit(0);
  }
  for (int i = 0; i < 3; ++i) {
    auto req = server->receive_message_for(5s);
    if (!req) return std::fprintf(stderr, "%s\n", req.error().message().c_str()), 1;
    const std::string rep = "re: " + std::string(req->text());
    if (auto s = server->send_for(ipcx::as_bytes(rep), 5s); !s)  // to the last sender
      return std::fprintf(stderr, "%s\n", s.error().message().c_str()), 1;
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
