// SPDX-License-Identifier: MIT
// A FIFO (named pipe): the parent creates and reads it, a forked child opens the same path
// and writes three messages; when the child exits the parent hears "peer gone". The
// ?remove=1 option unlinks the path when the reader closes, so nothing is left behind.
//   $ ./example_cpp_fifo
//   got: one / got: two / got: three / writer gone: peer gone
// The same FIFO works with the CLI: `ipcx recv fifo:///tmp/demo` and `ipcx send ...`.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "ipcx/channel.hpp"

int main() {
  using namespace std::chrono_literals;
  const std::string url = "fifo:///tmp/ipcx-example-fifo-" + std::to_string(::getpid()) + "?remove=1";
  auto reader = ipcx::Channel::open(url);  // creates the FIFO (mkfifo) and opens it for reading
  if (!reader) {
    std::fprintf(stderr, "%s\n", reader.error().message().c_str());
    return 1;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    auto writer = ipcx::Channel::open(url);  // the same path; this end writes
    if (!writer) _exit(1);
    for (const char* word : {"one", "two", "three"}) {
      if (!writer->send_for(ipcx::as_bytes(word), 5s)) _exit(2);
    }
    _exit(0);  // closing the last write end is what the reader sees as "peer gone"
  }
  int code = 0;
  for (;;) {
    auto m = reader->receive_message_for(5s);
    if (!m) {
      std::printf("writer gone: %s\n", ipcx::to_string(m.error().kind()).data());
      if (!m.error().peer_gone()) code = 1;
      break;
    }
    std::printf("got: %.*s\n", static_cast<int>(m->data.size()), m->text().data());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return code == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
